"""The local runtime runs what the template says: environment, layers on the path, Timeout enforced."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest

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
Outputs:
  ProbeName:
    Value: !Ref Probe
"""

PROBE = '''
import os, shutil, time
import helper  # from the layer's python/

def handler(event, context):
    if event.get("sleep"):
        time.sleep(event["sleep"])
    return {"greeting": os.environ["GREETING"], "only_here": os.environ["ONLY_HERE"], "helper": helper.NAME,
            "tool": shutil.which("layer-tool"), "remaining_ms": context.get_remaining_time_in_millis(),
            "endpoint": os.environ["AWS_ENDPOINT_URL"]}
'''


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


def start(template: Path, port: int, log: Path) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-m", "mediaflow.cli", "local", "up", "--port", str(port), "--stack", "probe",
         "--template", str(template)],
        cwd=template.parent, stdout=log.open("w"), stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    deadline = time.monotonic() + 60
    while "is up" not in log.read_text():
        assert process.poll() is None and time.monotonic() < deadline, log.read_text()
        time.sleep(0.3)
    return process


def invoke(port: int, event: dict) -> tuple[dict, str | None]:
    client = boto3.client("lambda", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    name = boto3.client("cloudformation", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                        aws_access_key_id="testing", aws_secret_access_key="testing"
                        ).describe_stacks(StackName="probe")["Stacks"][0]["Outputs"][0]["OutputValue"]
    response = client.invoke(FunctionName=name, Payload=json.dumps(event).encode())
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
