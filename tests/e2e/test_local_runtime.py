"""The local runtime runs what the template says: environment, layers on the path, Timeout enforced."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import unquote_plus

import boto3
import pytest
import requests

from support import free_port

pytestmark = pytest.mark.e2e

TEMPLATE = """
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Runtime: python3.12
    Timeout: 2
    Environment:
      Variables:
        GREETING: from-globals
Resources:
  Helpers:
    Type: AWS::Serverless::LayerVersion
    Properties:
      ContentUri: layer/
  Probe:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: probe/
      Handler: probe.handler
      Layers: [!Ref Helpers]
      Environment:
        Variables:
          ONLY_HERE: "{value}"
  Uploads:
    Type: AWS::S3::Bucket
    Properties:
      BucketName: probe-uploads
  Broken:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: probe/
      Handler: probe.broken
      Layers: [!Ref Helpers]
      DeadLetterQueue:
        Type: SQS
        TargetArn: !GetAtt BrokenDeadLetters.Arn
      Environment:
        Variables:
          ONLY_HERE: "{value}"
      Events:
        Upload:
          Type: S3
          Properties:
            Bucket: !Ref Uploads
            Events: s3:ObjectCreated:*
  BrokenDeadLetters:
    Type: AWS::SQS::Queue
Outputs:
  ProbeName:
    Value: !Ref Probe
  DeadLetters:
    Value: !Ref BrokenDeadLetters
"""

PROBE = '''
import os, shutil, time
import helper  # from the layer's python/


def broken(event, context):
    raise RuntimeError("cannot handle " + event["Records"][0]["s3"]["object"]["key"])

def ports(event, context):
    return {"statusCode": 200, "body": os.environ.get("LOCAL_RESERVED_PORTS", "")}

def handler(event, context):
    if event.get("sleep"):
        time.sleep(event["sleep"])
    return {"greeting": os.environ["GREETING"], "only_here": os.environ["ONLY_HERE"], "helper": helper.NAME,
            "tool": shutil.which("layer-tool"), "remaining_ms": context.get_remaining_time_in_millis(),
            "endpoint": os.environ["AWS_ENDPOINT_URL"]}
'''


# A stack with an API (ApiFunction and its key pair), so that `local up` serves it on --api-port.
API_TEMPLATE = """
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Resources:
  Helpers:
    Type: AWS::Serverless::LayerVersion
    Properties:
      ContentUri: layer/
  ApiFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: probe/
      Handler: probe.ports
      Runtime: python3.12
      Layers: [!Ref Helpers]
  AccessKeys:
    Type: AWS::SecretsManager::Secret
    Properties:
      GenerateSecretString:
        SecretStringTemplate: '{"SecretId": "AKIDprobe"}'
        GenerateStringKey: SecretKey
Outputs:
  ProbeName:
    Value: !Ref ApiFunction
  AccessKeysSecretArn:
    Value: !Ref AccessKeys
"""


def write_project(root: Path, value: str) -> Path:
    (root / "probe").mkdir(parents=True, exist_ok=True)
    (root / "probe" / "probe.py").write_text(PROBE)
    (root / "layer" / "python").mkdir(parents=True, exist_ok=True)
    (root / "layer" / "python" / "helper.py").write_text("NAME = 'layer-helper'\n")
    (root / "layer" / "bin").mkdir(exist_ok=True)
    tool = root / "layer" / "bin" / "layer-tool"
    tool.write_text("#!/bin/sh\necho tool\n")
    tool.chmod(0o755)
    template = root / "template.yaml"
    template.write_text(TEMPLATE.replace("{value}", value))
    return template


def start(template: Path, port: int, log: Path, *options: str, stack: str = "probe") -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-m", "mediaflow.cli", "local", "up", "--port", str(port), "--stack", stack,
         "--template", str(template), *options],
        cwd=template.parent, stdout=log.open("w"), stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    deadline = time.monotonic() + 60
    while "is up" not in log.read_text():
        assert process.poll() is None and time.monotonic() < deadline, log.read_text()
        time.sleep(0.3)
    return process


def client(port: int, service: str) -> object:
    return boto3.client(service, endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def output(port: int, key: str) -> str:
    outputs = client(port, "cloudformation").describe_stacks(StackName="probe")["Stacks"][0]["Outputs"]
    return next(o["OutputValue"] for o in outputs if o["OutputKey"] == key)


def invoke(port: int, event: dict) -> tuple[dict, str | None]:
    response = client(port, "lambda").invoke(FunctionName=output(port, "ProbeName"), Payload=json.dumps(event).encode())
    return json.loads(response["Payload"].read()), response.get("FunctionError")


@pytest.mark.parametrize("value", ["first", "second"])
def test_functions_run_as_the_template_says(tmp_path: Path, value: str) -> None:
    """Changing the template changes what runs: the value comes from the template each time."""
    template = write_project(tmp_path, value)
    port = free_port()
    process = start(template, port, tmp_path / "up.log")
    try:
        result, error = invoke(port, {})
        assert error is None, result
        assert result["greeting"] == "from-globals" and result["only_here"] == value
        assert result["helper"] == "layer-helper"
        assert result["tool"] == str(tmp_path / "layer" / "bin" / "layer-tool")
        assert 0 < result["remaining_ms"] <= 2000
        assert result["endpoint"] == f"http://127.0.0.1:{port}"

        started = time.monotonic()
        result, error = invoke(port, {"sleep": 10})
        assert error and "timed out after 2.00 seconds" in result["errorMessage"]
        assert time.monotonic() - started < 6, "the Timeout of the template is enforced"

        result, error = invoke(port, {})  # a fresh worker replaces the one that timed out
        assert error is None and result["only_here"] == value
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_failed_upload_events_land_in_the_functions_dead_letter_queue(tmp_path: Path) -> None:
    """S3 invokes asynchronously: after Lambda's two retries the event is kept in the function's DLQ."""
    template = write_project(tmp_path, "dlq")
    port = free_port()
    process = start(template, port, tmp_path / "up.log")
    try:
        client(port, "s3").put_object(Bucket="probe-uploads", Key="in/clip.mp4", Body=b"x")
        sqs = client(port, "sqs")
        deadline = time.monotonic() + 30
        messages: list = []
        while not messages and time.monotonic() < deadline:
            messages = sqs.receive_message(QueueUrl=output(port, "DeadLetters"), WaitTimeSeconds=1,
                                           MessageAttributeNames=["All"]).get("Messages", [])
        assert messages, "the failed event should wait in the dead-letter queue"
        event = json.loads(messages[0]["Body"])
        assert unquote_plus(event["Records"][0]["s3"]["object"]["key"]) == "in/clip.mp4"
        assert "cannot handle" in messages[0]["MessageAttributes"]["ErrorMessage"]["StringValue"]
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_functions_know_the_ports_of_the_emulator_and_the_api(tmp_path: Path) -> None:
    """Loopback callbacks are allowed locally, but not to the stack's own servers (the emulator's admin API
    resets everything): every function is told both ports, the API's too although it is bound after deploy."""
    template = write_project(tmp_path, "ports")
    template.write_text(API_TEMPLATE)
    port, api_port = free_port(), free_port()
    process = start(template, port, tmp_path / "up.log", "--api-port", str(api_port))
    try:
        expected = ",".join(str(p) for p in sorted((port, api_port)))
        result, error = invoke(port, {})
        assert error is None and result["body"] == expected, result
        served = requests.get(f"http://127.0.0.1:{api_port}/", timeout=30)  # the warm worker behind the API
        assert served.status_code == 200 and served.text == expected
    finally:
        process.terminate()
        process.wait(timeout=20)
