"""The local runtime's IAM: AWS's policy evaluation and the actions/resources each call is authorised for."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from boto3.exceptions import S3UploadFailedError

from mediaflow.local import iam
from mediaflow.local.iam_actions import queue_arn, requests

pytestmark = pytest.mark.unit

ROLE = "arn:aws:iam::123456789012:role/stack-UnitFunctionRole-X"
SESSION = "arn:aws:sts::123456789012:assumed-role/stack-UnitFunctionRole-X/stack-UnitFunction-Y"


def policy(*statements: dict) -> dict:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action, resource, **extra) -> dict:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action, resource, **extra) -> dict:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def test_wildcards_in_actions_and_resources() -> None:
    p = [policy(allow("s3:Get*", "arn:aws:s3:::out/*"), allow("sqs:SendMessage*", "arn:aws:sqs:*:123456789012:q-?.fifo"))]
    assert iam.decide(p, "s3:GetObject", "arn:aws:s3:::out/a/b.mp4") == "Allow"
    assert iam.decide(p, "S3:getobject", "arn:aws:s3:::out/x") == "Allow"  # actions ignore case
    assert iam.decide(p, "s3:PutObject", "arn:aws:s3:::out/x") is None
    assert iam.decide(p, "s3:GetObject", "arn:aws:s3:::OUT/x") is None  # resources do not
    assert iam.decide(p, "s3:GetObject", "arn:aws:s3:::out") is None  # the bucket is not bucket/*
    assert iam.decide(p, "sqs:SendMessage", "arn:aws:sqs:eu-west-1:123456789012:q-1.fifo") == "Allow"
    assert iam.decide(p, "sqs:SendMessage", "arn:aws:sqs:eu-west-1:123456789012:q-10.fifo") is None


def test_explicit_deny_wins_over_any_allow() -> None:
    p = [policy(allow("*", "*")), policy(deny("s3:DeleteObject", "arn:aws:s3:::keep/*"))]
    assert iam.decide(p, "s3:DeleteObject", "arn:aws:s3:::keep/a") == "Deny"
    assert iam.decide(p, "s3:DeleteObject", "arn:aws:s3:::other/a") == "Allow"


def test_not_action_and_not_resource() -> None:
    p = [policy({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}),
         policy({"Effect": "Deny", "Action": "s3:*", "NotResource": ["arn:aws:s3:::mine", "arn:aws:s3:::mine/*"]})]
    assert iam.decide(p, "dynamodb:GetItem", "arn:aws:dynamodb:us-east-1:1:table/T") == "Allow"
    assert iam.decide(p, "iam:PassRole", "*") is None
    assert iam.decide(p, "s3:GetObject", "arn:aws:s3:::mine/k") == "Allow"
    assert iam.decide(p, "s3:GetObject", "arn:aws:s3:::theirs/k") == "Deny"


def test_conditions() -> None:
    prefix = allow("s3:ListBucket", "arn:aws:s3:::b", Condition={"StringLike": {"s3:prefix": ["work/*"]}})
    assert iam.decide([policy(prefix)], "s3:ListBucket", "arn:aws:s3:::b", {"s3:prefix": "work/x/"}) == "Allow"
    assert iam.decide([policy(prefix)], "s3:ListBucket", "arn:aws:s3:::b", {"s3:prefix": "other/"}) is None
    assert iam.decide([policy(prefix)], "s3:ListBucket", "arn:aws:s3:::b", {}) is None  # a missing key: false
    if_exists = allow("s3:ListBucket", "*", Condition={"StringLikeIfExists": {"s3:prefix": "work/*"}})
    assert iam.decide([policy(if_exists)], "s3:ListBucket", "arn:aws:s3:::b", {}) == "Allow"
    secure = deny("s3:*", "*", Condition={"Bool": {"aws:SecureTransport": False}})
    everything = allow("s3:*", "*")
    assert iam.decide([policy(everything, secure)], "s3:GetObject", "arn:aws:s3:::b/k", {"aws:SecureTransport": "true"}) == "Allow"
    assert iam.decide([policy(everything, secure)], "s3:GetObject", "arn:aws:s3:::b/k", {"aws:SecureTransport": "false"}) == "Deny"
    not_equals = allow("s3:*", "*", Condition={"StringNotEquals": {"aws:PrincipalAccount": "999999999999"}})
    assert iam.decide([policy(not_equals)], "s3:GetObject", "x", {"aws:PrincipalAccount": "123456789012"}) == "Allow"
    assert iam.decide([policy(not_equals)], "s3:GetObject", "x", {}) == "Allow"  # negated, key missing: true
    numeric = allow("s3:*", "*", Condition={"NumericLessThanEquals": {"s3:max-keys": "10"}})
    assert iam.decide([policy(numeric)], "s3:ListBucket", "x", {"s3:max-keys": "5"}) == "Allow"
    assert iam.decide([policy(numeric)], "s3:ListBucket", "x", {"s3:max-keys": "50"}) is None
    arn_like = allow("sqs:*", "*", Condition={"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::123456789012:role/stack-*"}})
    assert iam.decide([policy(arn_like)], "sqs:SendMessage", "q", {"aws:PrincipalArn": ROLE}) == "Allow"
    null = allow("s3:*", "*", Condition={"Null": {"s3:prefix": "true"}})
    assert iam.decide([policy(null)], "s3:ListBucket", "b", {}) == "Allow"
    assert iam.decide([policy(null)], "s3:ListBucket", "b", {"s3:prefix": "a"}) is None
    assert iam.decide([policy(allow("s3:*", "*", Condition={"StringEquals": {"aws:PrincipalAccount": "123456789012"},
                                                           "Bool": {"aws:SecureTransport": "true"}}))],
                      "s3:GetObject", "x", {"aws:PrincipalAccount": "123456789012"}) is None  # every block must hold


def test_unknown_condition_operators_refuse() -> None:
    odd = {"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}}
    assert iam.decide([policy(allow("s3:*", "*", Condition=odd))], "s3:GetObject", "x", {}) is None
    assert iam.decide([policy(allow("s3:*", "*"), deny("s3:*", "*", Condition=odd))], "s3:GetObject", "x", {}) == "Deny"


def test_resource_policies_must_name_the_role() -> None:
    bucket = policy(allow("s3:PutObject", "arn:aws:s3:::ext/*", Principal={"AWS": [ROLE]}),
                    allow("s3:GetObject", "arn:aws:s3:::ext/*", Principal={"AWS": "arn:aws:iam::123456789012:root"}))
    principals = [ROLE, SESSION]
    assert iam.decide([bucket], "s3:PutObject", "arn:aws:s3:::ext/k", {}, principals) == "Allow"
    # the account delegates to identity policies: it grants nothing by itself
    assert iam.decide([bucket], "s3:GetObject", "arn:aws:s3:::ext/k", {}, principals) is None
    anyone = policy(allow("s3:GetObject", "arn:aws:s3:::ext/*", Principal="*"))
    assert iam.decide([anyone], "s3:GetObject", "arn:aws:s3:::ext/k", {}, principals) == "Allow"


@pytest.mark.parametrize(("service", "operation", "params", "expected"), [
    ("s3", "HeadObject", {"Bucket": "b", "Key": "k/1"}, [("s3:GetObject", "arn:aws:s3:::b/k/1")]),
    ("s3", "ListObjectsV2", {"Bucket": "b", "Prefix": "p/"}, [("s3:ListBucket", "arn:aws:s3:::b")]),
    ("s3", "UploadPart", {"Bucket": "b", "Key": "k", "PartNumber": 1}, [("s3:PutObject", "arn:aws:s3:::b/k")]),
    ("s3", "CopyObject", {"Bucket": "t", "Key": "k2", "CopySource": {"Bucket": "s", "Key": "k1"}},
     [("s3:PutObject", "arn:aws:s3:::t/k2"), ("s3:GetObject", "arn:aws:s3:::s/k1")]),
    ("s3", "CopyObject", {"Bucket": "t", "Key": "k2", "CopySource": "s/a/k1?versionId=1"},
     [("s3:PutObject", "arn:aws:s3:::t/k2"), ("s3:GetObject", "arn:aws:s3:::s/a/k1")]),
    ("s3", "DeleteObjects", {"Bucket": "b", "Delete": {"Objects": [{"Key": "a"}, {"Key": "b"}]}},
     [("s3:DeleteObject", "arn:aws:s3:::b/a"), ("s3:DeleteObject", "arn:aws:s3:::b/b")]),
    ("dynamodb", "Query", {"TableName": "T", "IndexName": "gsi1"},
     [("dynamodb:Query", "arn:aws:dynamodb:us-east-1:123456789012:table/T/index/gsi1")]),
    ("dynamodb", "TransactWriteItems", {"TransactItems": [{"Put": {"TableName": "T"}}, {"Update": {"TableName": "U"}},
                                                          {"ConditionCheck": {"TableName": "T"}}]},
     [("dynamodb:PutItem", "arn:aws:dynamodb:us-east-1:123456789012:table/T"),
      ("dynamodb:UpdateItem", "arn:aws:dynamodb:us-east-1:123456789012:table/U"),
      ("dynamodb:ConditionCheckItem", "arn:aws:dynamodb:us-east-1:123456789012:table/T")]),
    ("dynamodb", "BatchWriteItem", {"RequestItems": {"T": []}},
     [("dynamodb:BatchWriteItem", "arn:aws:dynamodb:us-east-1:123456789012:table/T")]),
    ("sqs", "SendMessageBatch", {"QueueUrl": "http://127.0.0.1:4566/123456789012/q.fifo"},
     [("sqs:SendMessage", "arn:aws:sqs:us-east-1:123456789012:q.fifo")]),
    ("sqs", "GetQueueUrl", {"QueueName": "q"}, [("sqs:GetQueueUrl", "arn:aws:sqs:us-east-1:123456789012:q")]),
    ("sns", "Publish", {"TopicArn": "arn:aws:sns:eu-west-1:123456789012:t"}, [("sns:Publish", "arn:aws:sns:eu-west-1:123456789012:t")]),
    ("states", "StartExecution", {"stateMachineArn": "arn:aws:states:us-east-1:1:stateMachine:m"},
     [("states:StartExecution", "arn:aws:states:us-east-1:1:stateMachine:m")]),
    ("lambda", "Invoke", {"FunctionName": "convert"}, [("lambda:InvokeFunction", "arn:aws:lambda:us-east-1:123456789012:function:convert")]),
    ("transcribe", "StartTranscriptionJob", {"TranscriptionJobName": "j1"},
     [("transcribe:StartTranscriptionJob", "arn:aws:transcribe:us-east-1:123456789012:transcription-job/j1")]),
    ("events", "PutEvents", {"Entries": [{"Source": "x"}]}, [("events:PutEvents", "arn:aws:events:us-east-1:123456789012:event-bus/default")]),
    ("sts", "GetCallerIdentity", {}, []),
    ("kms", "Decrypt", {"KeyId": "k"}, [("kms:Decrypt", "*")]),  # not mapped: only a grant on * lets it through
])
def test_calls_map_to_the_actions_and_resources_aws_checks(service, operation, params, expected) -> None:
    assert [(a, r) for a, r, _ in requests(service, operation, params, "us-east-1", "123456789012")] == expected


def test_queue_urls_of_aws_name_their_region() -> None:
    assert queue_arn("https://sqs.eu-west-1.amazonaws.com/123456789012/q", "us-east-1") == "arn:aws:sqs:eu-west-1:123456789012:q"


@pytest.fixture
def guarded(monkeypatch: pytest.MonkeyPatch) -> iam.Guard:
    from botocore.client import BaseClient

    sent: list[str] = []

    def fake_call(self, operation_name, api_params):  # the emulator: records what would be sent
        sent.append(operation_name)
        if operation_name == "GetBucketPolicy":
            raise ClientError({"Error": {"Code": "NoSuchBucketPolicy", "Message": ""}}, operation_name)
        return {"ResponseMetadata": {}}

    monkeypatch.setattr(BaseClient, "_make_api_call", fake_call)
    guard = iam.install_guard({"role_arn": ROLE, "session_arn": SESSION, "account": "123456789012",
                               "policies": [policy(allow("s3:PutObject", "arn:aws:s3:::out/*"))]})
    guard.sent = sent
    return guard


def test_the_guard_refuses_as_aws_does_before_sending(guarded: iam.Guard, tmp_path) -> None:
    import boto3

    s3 = boto3.client("s3", region_name="us-east-1", aws_access_key_id="k", aws_secret_access_key="s")
    s3.put_object(Bucket="out", Key="a", Body=b"x")
    with pytest.raises(ClientError) as refused:
        s3.put_object(Bucket="elsewhere", Key="a/b", Body=b"x")
    error = refused.value.response["Error"]
    assert error["Code"] == "AccessDenied" and refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert error["Message"] == (f'User: {SESSION} is not authorized to perform: s3:PutObject on resource: '
                                '"arn:aws:s3:::elsewhere/a/b" because no identity-based policy allows the s3:PutObject action')
    with pytest.raises(ClientError) as head:
        s3.head_object(Bucket="out", Key="a")
    assert head.value.response["Error"] == {"Code": "403", "Message": "Forbidden"}
    source = tmp_path / "f"
    source.write_bytes(b"data")
    with pytest.raises(S3UploadFailedError, match="AccessDenied"):
        s3.upload_file(str(source), "elsewhere", "f")
    assert "PutObject" in guarded.sent and guarded.sent.count("PutObject") == 1  # only the allowed one went out
    ddb = boto3.client("dynamodb", region_name="us-east-1", aws_access_key_id="k", aws_secret_access_key="s")
    with pytest.raises(ddb.exceptions.ClientError) as denied:
        ddb.get_item(TableName="T", Key={"pk": {"S": "a"}})
    assert denied.value.response["Error"]["Code"] == "AccessDeniedException"
    assert "dynamodb:GetItem on resource: arn:aws:dynamodb:us-east-1:123456789012:table/T because" in str(denied.value)
