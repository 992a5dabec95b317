"""Which IAM actions on which resources AWS authorises for one API call.

`requests(service, operation, params, region, account)` maps a botocore call (the client's signing
name, e.g. ``states`` for Step Functions, the operation name and its parameters) to the
``(action, resource ARN, condition context)`` triples AWS checks; every one must be allowed. It
covers every call the mediaflow library makes, from the service authorization reference:

* S3: objects ``arn:aws:s3:::bucket/key`` (HeadObject is s3:GetObject, multipart parts are
  s3:PutObject, CopyObject is s3:PutObject on the target and s3:GetObject on the source,
  DeleteObjects is s3:DeleteObject on each key), buckets ``arn:aws:s3:::bucket`` (ListObjects[V2]
  and HeadBucket are s3:ListBucket, with ``s3:prefix``);
* DynamoDB: ``table/T``, ``table/T/index/I`` for a Query or Scan of an index; batch and transaction
  calls are checked per table (TransactWriteItems: dynamodb:PutItem/UpdateItem/DeleteItem/
  ConditionCheckItem per item);
* SQS (the queue URL becomes the queue ARN; Batch variants are the single action), SNS, Step
  Functions, Lambda Invoke, Secrets Manager, Transcribe ``transcription-job/<name>``, EventBridge.

STS GetCallerIdentity needs no permission. An operation not known here is checked as
``<prefix>:<Operation>`` on resource ``*``, so that only a grant on ``*`` lets it through: add it
here when the library starts to call it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

Request = tuple[str, str, dict[str, Any]]  # action, resource ARN, condition context


def requests(service: str, operation: str, params: dict[str, Any], region: str, account: str) -> list[Request]:
    mapper = MAPPERS.get(service)
    found = mapper(operation, params, region, account) if mapper else None
    if found is None:
        return [(f"{service}:{operation}", "*", {})]
    return found


# ------------------------------------------------------------------ S3
S3_OBJECT_ACTIONS = {
    "GetObject": "s3:GetObject", "HeadObject": "s3:GetObject", "PutObject": "s3:PutObject",
    "CreateMultipartUpload": "s3:PutObject", "UploadPart": "s3:PutObject", "CompleteMultipartUpload": "s3:PutObject",
    "AbortMultipartUpload": "s3:AbortMultipartUpload", "ListParts": "s3:ListMultipartUploadParts",
    "DeleteObject": "s3:DeleteObject", "GetObjectTagging": "s3:GetObjectTagging",
    "PutObjectTagging": "s3:PutObjectTagging", "DeleteObjectTagging": "s3:DeleteObjectTagging",
    "GetObjectAttributes": "s3:GetObjectAttributes", "RestoreObject": "s3:RestoreObject",
    "GetObjectAcl": "s3:GetObjectAcl", "PutObjectAcl": "s3:PutObjectAcl",
}
S3_VERSIONED = {"s3:GetObject": "s3:GetObjectVersion", "s3:DeleteObject": "s3:DeleteObjectVersion",
                "s3:GetObjectTagging": "s3:GetObjectVersionTagging"}
S3_BUCKET_ACTIONS = {
    "ListObjects": "s3:ListBucket", "ListObjectsV2": "s3:ListBucket", "HeadBucket": "s3:ListBucket",
    "ListObjectVersions": "s3:ListBucketVersions", "ListMultipartUploads": "s3:ListBucketMultipartUploads",
    "GetBucketLocation": "s3:GetBucketLocation", "CreateBucket": "s3:CreateBucket", "DeleteBucket": "s3:DeleteBucket",
    "GetBucketPolicy": "s3:GetBucketPolicy", "PutBucketPolicy": "s3:PutBucketPolicy",
    "GetBucketNotificationConfiguration": "s3:GetBucketNotification",
    "PutBucketNotificationConfiguration": "s3:PutBucketNotification",
    "GetBucketTagging": "s3:GetBucketTagging", "GetBucketVersioning": "s3:GetBucketVersioning",
}


def _s3(operation: str, params: dict[str, Any], region: str, account: str) -> list[Request] | None:
    bucket = params.get("Bucket")
    if operation == "ListBuckets":
        return [("s3:ListAllMyBuckets", "*", {})]
    if operation in S3_BUCKET_ACTIONS and bucket:
        context = {"s3:prefix": params["Prefix"]} if "Prefix" in params else {}
        return [(S3_BUCKET_ACTIONS[operation], f"arn:aws:s3:::{bucket}", context)]
    if operation in S3_OBJECT_ACTIONS and bucket:
        action = S3_OBJECT_ACTIONS[operation]
        if params.get("VersionId"):
            action = S3_VERSIONED.get(action, action)
        return [(action, f"arn:aws:s3:::{bucket}/{params.get('Key', '')}", {})]
    if operation == "DeleteObjects" and bucket:
        return [("s3:DeleteObject", f"arn:aws:s3:::{bucket}/{item['Key']}", {})
                for item in (params.get("Delete") or {}).get("Objects", [])]
    if operation in ("CopyObject", "UploadPartCopy") and bucket:
        source = params.get("CopySource")
        if isinstance(source, dict):
            source_bucket, source_key = source.get("Bucket", ""), source.get("Key", "")
        else:
            source_bucket, _, source_key = str(source or "").lstrip("/").split("?")[0].partition("/")
        return [("s3:PutObject", f"arn:aws:s3:::{bucket}/{params.get('Key', '')}", {}),
                ("s3:GetObject", f"arn:aws:s3:::{source_bucket}/{source_key}", {})]
    return None


# ------------------------------------------------------------------ DynamoDB
DYNAMODB_TRANSACT = {"Put": "dynamodb:PutItem", "Update": "dynamodb:UpdateItem", "Delete": "dynamodb:DeleteItem",
                     "ConditionCheck": "dynamodb:ConditionCheckItem", "Get": "dynamodb:GetItem"}


def _dynamodb(operation: str, params: dict[str, Any], region: str, account: str) -> list[Request] | None:
    def table(name: str, index: str | None = None) -> str:
        arn = name if name.startswith("arn:") else f"arn:aws:dynamodb:{region}:{account}:table/{name}"
        return f"{arn}/index/{index}" if index else arn

    if operation in ("BatchGetItem", "BatchWriteItem"):
        return [(f"dynamodb:{operation}", table(name), {}) for name in params.get("RequestItems", {})]
    if operation in ("TransactWriteItems", "TransactGetItems"):
        found = []
        for item in params.get("TransactItems", []):
            for kind, body in item.items():
                found.append((DYNAMODB_TRANSACT.get(kind, f"dynamodb:{kind}"), table(body["TableName"]), {}))
        return found
    if "TableName" in params:
        index = params.get("IndexName") if operation in ("Query", "Scan") else None
        return [(f"dynamodb:{operation}", table(params["TableName"], index), {})]
    return None


# ------------------------------------------------------------------ SQS, SNS
def queue_arn(queue_url: str, region: str) -> str:
    """arn:aws:sqs:region:account:name of a queue URL (`https://sqs.<region>.amazonaws.com/<account>/<name>`
    on AWS, `http://127.0.0.1:4566/<account>/<name>` in the emulator)."""
    url = urlsplit(queue_url)
    account, _, name = url.path.strip("/").partition("/")
    host = url.hostname or ""
    if host.startswith("sqs.") and host.endswith(".amazonaws.com"):
        region = host.split(".")[1]
    return f"arn:aws:sqs:{region}:{account}:{name}"


def _sqs(operation: str, params: dict[str, Any], region: str, account: str) -> list[Request] | None:
    action = "sqs:" + operation.removesuffix("Batch")
    if "QueueUrl" in params:
        return [(action, queue_arn(params["QueueUrl"], region), {})]
    if operation == "GetQueueUrl":
        owner = params.get("QueueOwnerAWSAccountId") or account
        return [(action, f"arn:aws:sqs:{region}:{owner}:{params['QueueName']}", {})]
    if operation == "CreateQueue":
        return [(action, f"arn:aws:sqs:{region}:{account}:{params['QueueName']}", {})]
    return None


def _sns(operation: str, params: dict[str, Any], region: str, account: str) -> list[Request] | None:
    action = "sns:Publish" if operation == "PublishBatch" else f"sns:{operation}"
    target = params.get("TopicArn") or params.get("TargetArn")
    if target:
        return [(action, target, {})]
    if operation == "Publish":  # to a phone number: no resource
        return [(action, "*", {})]
    return None


# ------------------------------------------------------------------ Step Functions, Lambda, Secrets, ...
def _states(operation: str, params: dict[str, Any], region: str, account: str) -> list[Request] | None:
    for key in ("executionArn", "stateMachineArn", "activityArn", "mapRunArn"):
        if params.get(key):
            return [(f"states:{operation}", params[key], {})]
    return None


def function_arn(name: str, region: str, account: str, qualifier: str | None = None) -> str:
    """The ARN of a function named by name, partial ARN (account:function:name) or ARN."""
    if name.startswith("arn:"):
        arn = name
    elif ":function:" in name:
        arn = f"arn:aws:lambda:{region}:{name}"
    else:
        arn = f"arn:aws:lambda:{region}:{account}:function:{name}"
    if qualifier and arn.count(":") == 6:
        arn += f":{qualifier}"
    return arn


def _lambda(operation: str, params: dict[str, Any], region: str, account: str) -> list[Request] | None:
    if "FunctionName" not in params:
        return None
    action = "lambda:InvokeFunction" if operation in ("Invoke", "InvokeAsync", "InvokeWithResponseStream") \
        else f"lambda:{operation}"
    return [(action, function_arn(params["FunctionName"], region, account, params.get("Qualifier")), {})]


def _secretsmanager(operation: str, params: dict[str, Any], region: str, account: str) -> list[Request] | None:
    # A secret named without its ARN is resolved by the guard (the ARN ends in a random suffix).
    return [(f"secretsmanager:{operation}", params["SecretId"], {})] if "SecretId" in params else None


def _transcribe(operation: str, params: dict[str, Any], region: str, account: str) -> list[Request] | None:
    name = params.get("TranscriptionJobName")
    if name:
        return [(f"transcribe:{operation}", f"arn:aws:transcribe:{region}:{account}:transcription-job/{name}", {})]
    return None


def _events(operation: str, params: dict[str, Any], region: str, account: str) -> list[Request] | None:
    if operation != "PutEvents":
        return None
    buses = {entry.get("EventBusName") or "default" for entry in params.get("Entries", [])}
    return [("events:PutEvents", bus if bus.startswith("arn:") else f"arn:aws:events:{region}:{account}:event-bus/{bus}", {})
            for bus in sorted(buses)]


def _sts(operation: str, params: dict[str, Any], region: str, account: str) -> list[Request] | None:
    if operation == "GetCallerIdentity":  # needs no permission, even under an explicit deny
        return []
    if operation == "AssumeRole":
        return [("sts:AssumeRole", params["RoleArn"], {})]
    return None


MAPPERS = {
    "s3": _s3, "dynamodb": _dynamodb, "sqs": _sqs, "sns": _sns, "states": _states, "lambda": _lambda,
    "secretsmanager": _secretsmanager, "transcribe": _transcribe, "events": _events, "sts": _sts,
}
