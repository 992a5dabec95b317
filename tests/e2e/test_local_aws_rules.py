"""The local runtime refuses what AWS refuses: IAM outside a function's role, Step Functions' 256 KiB
state limit (not caught by States.ALL), Lambda's payload limits and concurrency throttles."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import boto3
import pytest
from botocore.config import Config

from support import free_port
from test_local_runtime import start

pytestmark = pytest.mark.e2e

TEMPLATE = """
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Runtime: python3.12
    Timeout: 20
Resources:
  Allowed:
    Type: AWS::S3::Bucket
    Properties: { BucketName: rules-allowed }
  Forbidden:
    Type: AWS::S3::Bucket
    Properties: { BucketName: rules-forbidden }
  Writer:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: probe/
      Handler: probe.write
      Policies:
        - S3CrudPolicy: { BucketName: !Ref Allowed }
  Big:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: probe/
      Handler: probe.big
  Reserved:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: probe/
      Handler: probe.big
      ReservedConcurrentExecutions: 1
  Limited:
    Type: AWS::Serverless::StateMachine
    Properties:
      DefinitionUri: limited.asl.json
      DefinitionSubstitutions: { BigArn: !GetAtt Big.Arn, Catch: States.ALL }
      Policies:
        - LambdaInvokePolicy: { FunctionName: !Ref Big }
  LimitedCaughtByName:
    Type: AWS::Serverless::StateMachine
    Properties:
      DefinitionUri: limited.asl.json
      DefinitionSubstitutions: { BigArn: !GetAtt Big.Arn, Catch: States.DataLimitExceeded }
      Policies:
        - LambdaInvokePolicy: { FunctionName: !Ref Big }
  NotItsFunction:
    Type: AWS::Serverless::StateMachine
    Properties:
      DefinitionUri: limited.asl.json
      DefinitionSubstitutions: { BigArn: !GetAtt Writer.Arn, Catch: States.DataLimitExceeded }
      Policies:
        - LambdaInvokePolicy: { FunctionName: !Ref Big }
  Fanned:
    Type: AWS::Serverless::StateMachine
    Properties:
      Name: rules-fanned
      DefinitionUri: fanned.asl.json
      Policies:
        - Statement:
            - Effect: Allow
              Action: [states:StartExecution]
              Resource: !Sub "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:rules-fanned"
            - Effect: Allow
              Action: [s3:GetObject, s3:PutObject]
              Resource: arn:aws:s3:::rules-allowed/*
  FannedWithoutStart:
    Type: AWS::Serverless::StateMachine
    Properties:
      Name: rules-fanned-without-start
      DefinitionUri: fanned.asl.json
      Policies:
        - S3CrudPolicy: { BucketName: !Ref Allowed }
  FannedWithoutRead:
    Type: AWS::Serverless::StateMachine
    Properties:
      Name: rules-fanned-without-read
      DefinitionUri: fanned.asl.json
      Policies:
        - Statement:
            - Effect: Allow
              Action: [states:StartExecution]
              Resource: !Sub "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:rules-fanned-without-read"
            - Effect: Allow
              Action: [s3:PutObject]
              Resource: arn:aws:s3:::rules-allowed/*
Outputs:
  Fanned: { Value: !Ref Fanned }
  FannedWithoutStart: { Value: !Ref FannedWithoutStart }
  FannedWithoutRead: { Value: !Ref FannedWithoutRead }
  Writer: { Value: !Ref Writer }
  Big: { Value: !Ref Big }
  Reserved: { Value: !Ref Reserved }
  Limited: { Value: !Ref Limited }
  LimitedCaughtByName: { Value: !Ref LimitedCaughtByName }
  NotItsFunction: { Value: !Ref NotItsFunction }
"""

ASL = """{
  "StartAt": "Call",
  "States": {
    "Call": {"Type": "Task", "Resource": "${BigArn}", "Next": "Done",
             "Catch": [{"ErrorEquals": ["${Catch}"], "Next": "Caught"}]},
    "Caught": {"Type": "Pass", "End": true},
    "Done": {"Type": "Pass", "End": true}
  }
}"""

# A Distributed Map over the items in rules-allowed/items.json, its results written back there.
FANNED = """{
  "StartAt": "Fan",
  "States": {
    "Fan": {"Type": "Map", "MaxConcurrency": 100,
            "ItemReader": {"Resource": "arn:aws:states:::s3:getObject", "ReaderConfig": {"InputType": "JSON"},
                           "Parameters": {"Bucket": "rules-allowed", "Key": "items.json"}},
            "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                              "StartAt": "Each", "States": {"Each": {"Type": "Pass", "End": true}}},
            "ResultWriter": {"Resource": "arn:aws:states:::s3:putObject",
                             "Parameters": {"Bucket": "rules-allowed", "Prefix": "fanned"}},
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Caught"}],
            "End": true},
    "Caught": {"Type": "Pass", "End": true}
  }
}"""

PROBE = '''
import time, boto3

def write(event, context):
    s3 = boto3.client("s3")
    if event.get("upload"):
        open("/tmp/upload", "wb").write(b"data")
        s3.upload_file("/tmp/upload", event["bucket"], "uploaded")
    else:
        s3.put_object(Bucket=event["bucket"], Key="put", Body=b"x")
    return "written"

def big(event, context):
    time.sleep(event.get("sleep", 0))
    return {"data": "x" * event.get("size", 0)}
'''


@dataclass
class Rules:
    port: int
    outputs: dict[str, str]

    def client(self, service: str, attempts: int = 1) -> object:
        return boto3.client(service, endpoint_url=f"http://127.0.0.1:{self.port}", region_name="us-east-1",
                            aws_access_key_id="testing", aws_secret_access_key="testing",
                            config=Config(retries={"max_attempts": attempts, "mode": "standard"}, read_timeout=60))

    def invoke(self, function: str, event: dict) -> tuple[dict | str, str | None]:
        reply = self.client("lambda").invoke(FunctionName=self.outputs[function], Payload=json.dumps(event).encode())
        return json.loads(reply["Payload"].read()), reply.get("FunctionError")

    def execute(self, machine: str, event: dict) -> tuple[dict, list[dict]]:
        sfn = self.client("stepfunctions")
        arn = sfn.start_execution(stateMachineArn=self.outputs[machine], name=f"e{time.time_ns()}",
                                  input=json.dumps(event))["executionArn"]
        deadline = time.monotonic() + 60
        while (described := sfn.describe_execution(executionArn=arn))["status"] == "RUNNING":
            assert time.monotonic() < deadline
            time.sleep(0.3)
        return described, sfn.get_execution_history(executionArn=arn)["events"]


@pytest.fixture(scope="module")
def rules(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rules]:
    root = tmp_path_factory.mktemp("rules")
    (root / "probe").mkdir()
    (root / "probe" / "probe.py").write_text(PROBE)
    (root / "limited.asl.json").write_text(ASL)
    (root / "fanned.asl.json").write_text(FANNED)
    (root / "template.yaml").write_text(TEMPLATE)
    port = free_port()
    # 3 in flight per account: with the minimum unreserved of 1, Reserved's 1 leaves 2 to the others
    process = start(root / "template.yaml", port, root / "up.log", "--account-concurrency", "3", stack="rules")
    try:
        described = boto3.client("cloudformation", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                                 aws_access_key_id="testing", aws_secret_access_key="testing"
                                 ).describe_stacks(StackName="rules")["Stacks"][0]
        yield Rules(port, {o["OutputKey"]: o["OutputValue"] for o in described["Outputs"]})
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_a_call_outside_the_role_is_refused_as_on_aws_until_a_bucket_policy_allows_it(rules: Rules) -> None:
    assert rules.invoke("Writer", {"bucket": "rules-allowed"}) == ("written", None)

    result, error = rules.invoke("Writer", {"bucket": "rules-forbidden"})
    # botocore's class for the code, as it raises it from an AWS answer (newer models have S3 AccessDenied)
    assert error == "Unhandled" and result["errorType"] in ("ClientError", "AccessDenied")
    assert "An error occurred (AccessDenied) when calling the PutObject operation: User: arn:aws:sts::123456789012:" \
           "assumed-role/" in result["errorMessage"]
    assert ('is not authorized to perform: s3:PutObject on resource: "arn:aws:s3:::rules-forbidden/put" because no '
            "identity-based policy allows the s3:PutObject action") in result["errorMessage"]
    result, error = rules.invoke("Writer", {"bucket": "rules-forbidden", "upload": True})
    assert result["errorType"] == "S3UploadFailedError" and "AccessDenied" in result["errorMessage"]
    s3 = rules.client("s3")
    assert "Contents" not in s3.list_objects_v2(Bucket="rules-forbidden")

    # A bucket policy naming the role is enough in the same account (an externally owned bucket activated).
    role = rules.client("lambda").get_function(FunctionName=rules.outputs["Writer"])["Configuration"]["Role"]
    s3.put_bucket_policy(Bucket="rules-forbidden", Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": role}, "Action": "s3:PutObject",
         "Resource": "arn:aws:s3:::rules-forbidden/*"}]}))
    deadline = time.monotonic() + 15  # the worker keeps a resource policy for a few seconds
    while (answer := rules.invoke("Writer", {"bucket": "rules-forbidden"}))[1] and time.monotonic() < deadline:
        time.sleep(1)
    assert answer == ("written", None)


def test_a_state_over_256_kib_fails_the_execution_and_states_all_does_not_catch_it(rules: Rules) -> None:
    described, _ = rules.execute("Limited", {"size": 1000})
    assert described["status"] == "SUCCEEDED"

    described, history = rules.execute("Limited", {"size": 300_000})
    assert described["status"] == "FAILED" and described["error"] == "States.DataLimitExceeded"
    entered = [e["stateEnteredEventDetails"]["name"] for e in history if "stateEnteredEventDetails" in e]
    assert entered == ["Call"]  # Catch [States.ALL] -> Caught did not run

    described, history = rules.execute("LimitedCaughtByName", {"size": 300_000})
    assert described["status"] == "SUCCEEDED"
    assert "Caught" in [e["stateEnteredEventDetails"]["name"] for e in history if "stateEnteredEventDetails" in e]

    with pytest.raises(rules.client("stepfunctions").exceptions.ClientError, match="262144"):
        rules.client("stepfunctions").start_execution(stateMachineArn=rules.outputs["Limited"], name="too-big",
                                                      input=json.dumps({"pad": "x" * 262_144}))


def test_a_state_machine_invokes_only_the_functions_its_role_allows(rules: Rules) -> None:
    described, _ = rules.execute("NotItsFunction", {"bucket": "rules-allowed"})
    assert described["status"] == "FAILED" and described["error"] == "Lambda.AWSLambdaException"
    assert "is not authorized to perform: lambda:InvokeFunction" in described["cause"]
    assert "Error Code: AccessDeniedException" in described["cause"]


def test_a_distributed_map_needs_its_role_to_start_its_own_executions_and_read_its_items(rules: Rules) -> None:
    s3 = rules.client("s3")
    s3.put_object(Bucket="rules-allowed", Key="items.json", Body=json.dumps([{"n": n} for n in range(60)]).encode())

    described, history = rules.execute("Fanned", {})
    assert described["status"] == "SUCCEEDED", described
    assert [e["type"] for e in history if e["type"].startswith("MapRun")] == ["MapRunStarted", "MapRunSucceeded"]
    manifest = json.loads(described["output"])["ResultWriterDetails"]["Key"]
    assert manifest.startswith("fanned/") and s3.head_object(Bucket="rules-allowed", Key=manifest)

    described, history = rules.execute("FannedWithoutStart", {})  # the map run fails: not caught by States.ALL
    assert described["status"] == "FAILED" and described["error"] == "States.Runtime"
    assert ("is not authorized to perform: states:StartExecution on resource: arn:aws:states:us-east-1:123456789012:"
            "stateMachine:rules-fanned-without-start because no identity-based policy allows") in described["cause"]

    described, _ = rules.execute("FannedWithoutRead", {})  # a reader's failure is caught
    assert described["status"] == "SUCCEEDED"
    error = json.loads(described["output"])["error"]
    assert error["Error"] == "States.ItemReaderFailed"
    assert "is not authorized to perform: s3:GetObject on resource: arn:aws:s3:::rules-allowed/items.json" in error["Cause"]


def test_lambda_payload_limits(rules: Rules) -> None:
    result, error = rules.invoke("Big", {"size": 6_300_000})
    assert error == "Unhandled" and result == {
        "errorMessage": "Response payload size exceeded maximum allowed payload size (6291556 bytes).",
        "errorType": "Function.ResponseSizeTooLarge"}
    lam = rules.client("lambda")
    with pytest.raises(lam.exceptions.RequestTooLargeException):
        lam.invoke(FunctionName=rules.outputs["Big"], Payload=json.dumps({"pad": "x" * 6_300_000}).encode())
    with pytest.raises(lam.exceptions.RequestTooLargeException):
        lam.invoke(FunctionName=rules.outputs["Big"], InvocationType="Event",
                   Payload=json.dumps({"pad": "x" * 1_100_000}).encode())


@pytest.mark.parametrize(("function", "parallel", "reason"), [
    ("Big", 3, "ConcurrentInvocationLimitExceeded"),  # 2 unreserved slots
    ("Reserved", 2, "ReservedFunctionConcurrentInvocationLimitExceeded"),  # its 1 reserved slot
])
def test_invocations_beyond_the_concurrency_are_throttled(rules: Rules, function: str, parallel: int,
                                                          reason: str) -> None:
    lam = rules.client("lambda")

    def call(_: int) -> dict:
        try:
            lam.invoke(FunctionName=rules.outputs[function], Payload=b'{"sleep": 2}')
            return {}
        except lam.exceptions.TooManyRequestsException as throttled:
            return throttled.response

    answers = list(ThreadPoolExecutor(parallel).map(call, range(parallel)))
    throttled = [a for a in answers if a]
    assert len(throttled) == 1, answers
    assert throttled[0]["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert throttled[0]["Reason"] == reason and throttled[0]["Error"]["Message"] == "Rate Exceeded."
