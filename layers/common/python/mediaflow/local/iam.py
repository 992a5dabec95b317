"""IAM for the local runtime: a function's calls are authorised as AWS would authorise them.

moto's own IAM mode does not serve: it authorises every non-S3 action against resource ``*``, so
any resource-scoped statement (all of SAM's policy templates) denies. Instead:

* at spec time the runtime reads the function's role from the emulator's IAM (`role_facts`: inline
  policies, attached customer-managed policies, and the few AWS-managed ones SAM attaches, embedded
  below) and hands them to the worker in a JSON file;
* the worker installs `install_guard` before the handler is imported: every botocore call is mapped
  to the IAM actions and resources AWS checks (`iam_actions`) and evaluated here; a refused call
  raises the ClientError AWS gives (S3 ``AccessDenied`` 403, DynamoDB/Step Functions/Lambda/Secrets
  Manager/Transcribe ``AccessDeniedException``, SQS ``AccessDenied``, SNS ``AuthorizationError``),
  before anything is sent, so s3transfer raises S3UploadFailedError as on AWS;
* same-account resource policies count as on AWS: the call is allowed when the identity policies
  or the bucket policy (S3), queue policy (SQS) or topic policy (SNS) allow the role, read from the
  emulator and kept for `RESOURCE_POLICY_TTL` seconds; an explicit Deny in either wins.

Evaluation follows AWS's logic for one account: explicit Deny > Allow > implicit deny. Action/
NotAction, Resource/NotResource and Principal/NotPrincipal take ``*`` and ``?`` wildcards (actions
case-insensitively). Condition operators: String*, Arn*, Numeric*, Bool, Null, with ``...IfExists``
and ``ForAnyValue:``/``ForAllValues:``; a key missing from the request makes a positive operator
false and a negated one true, as on AWS. An unknown operator never grants (an Allow with it does not
apply) and always refuses (a Deny with it applies). Policy variables (``${aws:username}``) are not
substituted. Only calls made from inside a function's worker are checked: the CLI's, the tests' and
the runtime's own calls are not.
"""

from __future__ import annotations

import ast
import fnmatch
import json
import logging
import re
import threading
import time
from functools import lru_cache
from typing import Any

logger = logging.getLogger("mediaflow.local")

ACCOUNT = "123456789012"  # moto's account
FACTS_ENV = "MEDIAFLOW_LOCAL_IAM_FACTS"  # the worker's JSON file of its role's policies
RESOURCE_POLICY_TTL = 5.0  # seconds a bucket/queue/topic policy read from the emulator is kept

# AWS-managed policies SAM attaches to function roles. They are not in the emulator's IAM; their
# statements (as published) are facts here. Any other AWS-managed policy is ignored with a warning.
AWS_MANAGED = {
    "AWSLambdaBasicExecutionRole": [
        {"Effect": "Allow", "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
         "Resource": "*"}],
    "AWSXrayWriteOnlyAccess": [
        {"Effect": "Allow", "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords",
                                       "xray:GetSamplingRules", "xray:GetSamplingTargets",
                                       "xray:GetSamplingStatisticSummaries"], "Resource": "*"}],
    "AWSLambdaSQSQueueExecutionRole": [
        {"Effect": "Allow", "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes",
                                       "logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
         "Resource": "*"}],
}


# ------------------------------------------------------------------ evaluation
def _listed(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


@lru_cache(maxsize=4096)
def _pattern(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    return re.compile(fnmatch.translate(pattern), re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def matches(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    """IAM wildcard match: ``*`` any run of characters (``/`` and ``:`` included), ``?`` one character."""
    pattern = pattern.replace("[", "[[]")  # fnmatch's character classes are not IAM's
    return _pattern(pattern, ignore_case).match(value) is not None


def _action_matches(statement: dict[str, Any], action: str) -> bool:
    if "NotAction" in statement:
        return not any(matches(p, action, ignore_case=True) for p in _listed(statement["NotAction"]))
    return any(matches(p, action, ignore_case=True) for p in _listed(statement.get("Action")))


def _resource_matches(statement: dict[str, Any], resource: str) -> bool:
    if "NotResource" in statement:
        return not any(matches(p, resource) for p in _listed(statement["NotResource"]))
    if "Resource" not in statement:  # a resource policy may leave it out: the resource it is attached to
        return True
    return any(matches(p, resource) for p in _listed(statement["Resource"]))


def _principal_matches(statement: dict[str, Any], principals: list[str]) -> bool:
    """Does a resource policy statement name one of `principals` (the role and its session)? An
    account (``123456789012`` or its ``:root``) delegates to identity policies: it grants nothing
    by itself."""
    if "NotPrincipal" in statement:
        named = statement["NotPrincipal"]
        named = _listed(named.get("AWS")) if isinstance(named, dict) else _listed(named)
        return statement.get("Effect") == "Deny" and not any(p in named for p in principals)
    named = statement.get("Principal")
    if named == "*":
        return True
    named = _listed(named.get("AWS")) if isinstance(named, dict) else []
    return "*" in named or any(p in named for p in principals)


KNOWN_OPERATORS = {"StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase",
                   "StringLike", "StringNotLike", "ArnEquals", "ArnNotEquals", "ArnLike", "ArnNotLike", "Bool",
                   "NumericEquals", "NumericNotEquals", "NumericLessThan", "NumericLessThanEquals",
                   "NumericGreaterThan", "NumericGreaterThanEquals"}
NEGATED = {"StringNotEquals", "StringNotEqualsIgnoreCase", "StringNotLike", "ArnNotEquals", "ArnNotLike",
           "NumericNotEquals"}


def _compare(operator: str, actual: str, expected: Any) -> bool:
    """One value against one policy value (`operator` is one of KNOWN_OPERATORS)."""
    expected = str(expected).lower() if isinstance(expected, bool) else str(expected)
    if operator in ("StringEquals", "StringNotEquals"):
        return actual == expected
    if operator in ("StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase"):
        return actual.lower() == expected.lower()
    if operator in ("StringLike", "StringNotLike", "ArnLike", "ArnNotLike", "ArnEquals", "ArnNotEquals"):
        return matches(expected, actual)
    if operator == "Bool":
        return actual.lower() == expected.lower()
    if operator.startswith("Numeric"):
        try:
            a, e = float(actual), float(expected)
        except ValueError:
            return False
        return {"NumericEquals": a == e, "NumericNotEquals": a == e, "NumericLessThan": a < e,
                "NumericLessThanEquals": a <= e, "NumericGreaterThan": a > e,
                "NumericGreaterThanEquals": a >= e}[operator]
    raise ValueError(operator)


def _condition(operator: str, key: str, expected: Any, context: dict[str, Any]) -> bool | None:
    quantifier, _, operator = operator.rpartition(":")
    if_exists = operator.endswith("IfExists") and operator != "IfExists"
    operator = operator.removesuffix("IfExists") if if_exists else operator
    actual = next((v for k, v in context.items() if k.lower() == key.lower()), None)
    expected_values = _listed(expected)
    if operator == "Null":  # true: the key must be absent
        return (actual is None) == (str(expected_values[0]).lower() == "true")
    if operator not in KNOWN_OPERATORS or quantifier not in ("", "ForAnyValue", "ForAllValues"):
        return None
    negated = operator in NEGATED
    if actual is None:
        return True if if_exists else negated
    values = [str(v).lower() if isinstance(v, bool) else str(v) for v in _listed(actual)]

    def one(value: str) -> bool:
        hit = any(_compare(operator, value, e) for e in expected_values)
        return not hit if negated else hit

    if quantifier == "ForAllValues":
        return all(one(v) for v in values)
    return any(one(v) for v in values)


def _conditions_hold(statement: dict[str, Any], context: dict[str, Any]) -> bool:
    deny = statement.get("Effect") == "Deny"
    for operator, keys in (statement.get("Condition") or {}).items():
        for key, expected in keys.items():
            result = _condition(operator, key, expected, context)
            if result is None:  # unknown operator: refuse (an Allow does not apply, a Deny does)
                logger.warning("IAM condition operator %s is not evaluated locally", operator)
                result = deny
            if not result:
                return False
    return True


def decide(policies: list[dict[str, Any]], action: str, resource: str, context: dict[str, Any] | None = None,
           principals: list[str] | None = None) -> str | None:
    """"Deny" (an explicit deny), "Allow", or None (nothing applies: implicitly denied). With
    `principals`, the policies are resource policies and a statement must name one of them."""
    context = context or {}
    verdict = None
    for policy in policies:
        for statement in _listed(policy.get("Statement")):
            if principals is not None and not _principal_matches(statement, principals):
                continue
            if not (_action_matches(statement, action) and _resource_matches(statement, resource)
                    and _conditions_hold(statement, context)):
                continue
            if statement.get("Effect") == "Deny":
                return "Deny"
            if statement.get("Effect") == "Allow":
                verdict = "Allow"
    return verdict


# ------------------------------------------------------------------ facts (runtime side)
def _document(value: Any) -> dict[str, Any]:
    """A policy document as the emulator returns it: a dict, JSON, or (moto's CloudFormation keeps
    inline policies so) a Python literal."""
    if isinstance(value, dict):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        return ast.literal_eval(value)


def role_facts(iam: Any, role_arn: str, session_name: str, managed_arns: list[str] = ()) -> dict[str, Any]:
    """What the worker needs to authorise its function's calls: the role, its session ARN, its policies
    (inline, attached, and `managed_arns`: the template's ManagedPolicyArns, which moto's
    CloudFormation does not attach)."""
    role_name = role_arn.rsplit("/", 1)[-1]
    policies = [iam.get_role_policy(RoleName=role_name, PolicyName=name)["PolicyDocument"]
                for name in iam.list_role_policies(RoleName=role_name)["PolicyNames"]]
    attached = [a["PolicyArn"] for a in iam.list_attached_role_policies(RoleName=role_name)["AttachedPolicies"]]
    for arn in dict.fromkeys([*attached, *managed_arns]):
        if arn.startswith("arn:aws:iam::aws:policy/"):
            statements = AWS_MANAGED.get(arn.rsplit("/", 1)[-1])
            if statements is None:
                logger.warning("AWS managed policy %s of %s is not known locally: ignored", arn, role_name)
            else:
                policies.append({"Version": "2012-10-17", "Statement": statements})
            continue
        version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
        policies.append(iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"])
    policies = [_document(p) for p in policies]
    account = role_arn.split(":")[4] or ACCOUNT
    return {"role_arn": role_arn, "session_arn": f"arn:aws:sts::{account}:assumed-role/{role_name}/{session_name}",
            "account": account, "policies": policies}


# ------------------------------------------------------------------ the guard (worker side)
# Error code, HTTP status and whether the resource is quoted, as each service words its refusal.
ERRORS = {"s3": ("AccessDenied", 403, True), "sqs": ("AccessDenied", 403, False),
          "sns": ("AuthorizationError", 403, False), "lambda": ("AccessDeniedException", 403, False)}
DEFAULT_ERROR = ("AccessDeniedException", 400, False)


class Guard:
    """Authorises a worker's botocore calls against its role (see the module's docstring)."""

    def __init__(self, facts: dict[str, Any], original_call: Any):
        self.facts = facts
        self.principals = [facts["role_arn"], facts["session_arn"]]
        self.context = {"aws:PrincipalArn": facts["role_arn"], "aws:PrincipalAccount": facts["account"],
                        "aws:SecureTransport": "true", "aws:userid": facts["session_arn"].rsplit("/", 1)[-1]}
        self.original_call = original_call
        self.cache: dict[tuple[str, str], tuple[float, list[dict[str, Any]]]] = {}
        self.clients: dict[tuple[str, str], Any] = {}
        self.lock = threading.Lock()

    def check(self, client: Any, operation: str, params: dict[str, Any]) -> None:
        from . import iam_actions

        service, region = client.meta.service_model.signing_name, client.meta.region_name
        for action, resource, extra in iam_actions.requests(service, operation, params, region, self.facts["account"]):
            if service == "secretsmanager" and not resource.startswith("arn:"):
                resource = self._secret_arn(region, resource)
            context = {**self.context, "aws:RequestedRegion": region, **extra}
            identity = decide(self.facts["policies"], action, resource, context)
            resource_policy = self._resource_policies(service, region, resource)
            granted = decide(resource_policy, action, resource, context, self.principals) if resource_policy else None
            if identity == "Deny" or granted == "Deny":
                where = "an identity-based policy" if identity == "Deny" else "a resource-based policy"
                self.refuse(client, operation, action, resource, f"with an explicit deny in {where}")
            if identity != "Allow" and granted != "Allow":
                self.refuse(client, operation, action, resource,
                            f"because no identity-based policy allows the {action} action")

    def refuse(self, client: Any, operation: str, action: str, resource: str, reason: str) -> None:
        service = client.meta.service_model.signing_name
        code, status, quoted = ERRORS.get(service, DEFAULT_ERROR)
        shown = f'"{resource}"' if quoted else resource
        message = f"User: {self.facts['session_arn']} is not authorized to perform: {action} on resource: {shown} {reason}"
        if service == "s3" and operation.startswith("Head"):  # a HEAD response has no body: botocore sees the status
            code, message = "403", "Forbidden"
        response = {"Error": {"Code": code, "Message": message},
                    "ResponseMetadata": {"HTTPStatusCode": status, "HTTPHeaders": {}, "RetryAttempts": 0}}
        logger.warning("IAM (local): %s", message)
        raise client.exceptions.from_code(code)(response, operation)

    # -------------------------------------------------------------- emulator look-ups (unchecked)
    def _call(self, service: str, region: str, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        import botocore.session

        with self.lock:
            client = self.clients.get((service, region))
            if client is None:
                client = self.clients[(service, region)] = botocore.session.get_session().create_client(
                    service, region_name=region)
        return self.original_call(client, operation, params)

    def _resource_policies(self, service: str, region: str, resource: str) -> list[dict[str, Any]]:
        from botocore.exceptions import ClientError

        from .iam_actions import queue_arn

        if service == "s3" and resource.startswith("arn:aws:s3:::"):
            key = ("s3", resource[len("arn:aws:s3:::"):].split("/", 1)[0])
        elif service == "sqs" and resource.startswith("arn:aws:sqs:"):
            key = ("sqs", resource)
        elif service == "sns" and resource.startswith("arn:aws:sns:"):
            key = ("sns", resource)
        else:
            return []
        with self.lock:
            cached = self.cache.get(key)
        if cached and time.monotonic() - cached[0] < RESOURCE_POLICY_TTL:
            return cached[1]
        text = None
        try:
            if key[0] == "s3":
                text = self._call("s3", region, "GetBucketPolicy", {"Bucket": key[1]}).get("Policy")
            elif key[0] == "sqs":
                _, _, _, queue_region, account, name = resource.split(":", 5)
                url = self._call("sqs", queue_region, "GetQueueUrl",
                                 {"QueueName": name, "QueueOwnerAWSAccountId": account})["QueueUrl"]
                assert queue_arn(url, queue_region) == resource
                text = self._call("sqs", queue_region, "GetQueueAttributes",
                                  {"QueueUrl": url, "AttributeNames": ["Policy"]}).get("Attributes", {}).get("Policy")
            else:
                text = self._call("sns", resource.split(":")[3], "GetTopicAttributes",
                                  {"TopicArn": resource}).get("Attributes", {}).get("Policy")
        except ClientError:  # no policy, or no such bucket/queue/topic: the identity policy decides
            text = None
        policies = [json.loads(text)] if text else []
        with self.lock:
            self.cache[key] = (time.monotonic(), policies)
        return policies

    def _secret_arn(self, region: str, name: str) -> str:
        from botocore.exceptions import ClientError

        try:
            return self._call("secretsmanager", region, "DescribeSecret", {"SecretId": name})["ARN"]
        except ClientError:
            return f"arn:aws:secretsmanager:{region}:{self.facts['account']}:secret:{name}"


def install_guard(facts: dict[str, Any]) -> Guard:
    """Check every botocore call of this process against `facts` (see `role_facts`) before it is sent."""
    from botocore.client import BaseClient

    original = BaseClient._make_api_call
    guard = Guard(facts, original)

    def _make_api_call(self: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
        guard.check(self, operation_name, api_params)
        return original(self, operation_name, api_params)

    BaseClient._make_api_call = _make_api_call  # type: ignore[method-assign]
    return guard
