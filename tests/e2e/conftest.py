"""The whole stack from template.yaml, started as a user starts it (`mediaflow local up`), in its own process."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest

from mediaflow import aws, config
from mediaflow.local.payloads import Payload, largest_of_state_machine
from support import free_port

ROOT = Path(__file__).resolve().parents[2]
STARTUP_BUDGET = 120  # seconds
EXTERNAL_BUCKET = "e2e-external-uploads"  # a bucket outside the stack (ExternalBucketNames)
LARGEST: list[Payload] = []  # the largest state payload of the stack's executions, read before it stops


@dataclass
class LocalStack:
    endpoint: str
    outputs: dict[str, str]
    api_url: str = ""  # the local front of the HTTP API
    secret_id: str = ""  # the API key pair put into the stack's AccessKeys secret
    secret_key: str = ""
    external_bucket: str = ""  # listed in ExternalBucketNames; EventBridge notifications on

    def client(self, service: str) -> object:
        return boto3.client(service, endpoint_url=self.endpoint, region_name="us-east-1",
                            aws_access_key_id="testing", aws_secret_access_key="testing")


SERVED_BUCKET_SETTINGS = ("INPUT_BUCKET", "OUTPUT_BUCKET", "EXTERNAL_BUCKETS", "BUCKET_READER_ROLES",
                          "BUCKET_WRITER_ROLES", "NOTIFY_TARGET_NAMES")


@pytest.fixture(scope="package")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    port, api_port = free_port(), free_port()
    secret_id, secret_key = "AKIDe2e" + secrets.token_hex(16), secrets.token_urlsafe(30)
    state = tmp_path_factory.mktemp("local-state")
    log = (state / "local-up.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "mediaflow.cli", "local", "up", "--port", str(port), "--stack", "e2e",
         "--template", str(ROOT / "template.yaml"), "--api-port", str(api_port),
         "--parameter", f"ExternalBucketNames={EXTERNAL_BUCKET}",
         "--parameter", "SplitSeconds=5"],  # inputs of 10 s or more run split-parallel
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1",
             "MEDIAFLOW_ACCESS_KEY_ID": secret_id, "MEDIAFLOW_SECRET_ACCESS_KEY": secret_key},
    )
    stack = LocalStack(endpoint=f"http://127.0.0.1:{port}", outputs={}, api_url=f"http://127.0.0.1:{api_port}",
                       secret_id=secret_id, secret_key=secret_key, external_bucket=EXTERNAL_BUCKET)
    deadline = time.monotonic() + STARTUP_BUDGET
    while time.monotonic() < deadline and "is up" not in (state / "local-up.log").read_text():
        if process.poll() is not None:
            pytest.fail("mediaflow local up exited:\n" + (state / "local-up.log").read_text())
        time.sleep(0.5)
    described = stack.client("cloudformation").describe_stacks(StackName="e2e")["Stacks"][0]
    stack.outputs = {o["OutputKey"]: o["OutputValue"] for o in described["Outputs"]}
    # The library, used from the tests to bind workflows and read records, talks to the emulator and
    # knows the buckets the stack serves as the API function does.
    api = stack.client("cloudformation").describe_stack_resource(StackName="e2e", LogicalResourceId="ApiFunction")
    served = {name: value for name, value in stack.client("lambda").get_function_configuration(
        FunctionName=api["StackResourceDetail"]["PhysicalResourceId"])["Environment"]["Variables"].items()
        if name in SERVED_BUCKET_SETTINGS}
    settings = {"AWS_ENDPOINT_URL": stack.endpoint, "TABLE_NAME": stack.outputs["TableName"],
                "AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                **served}
    saved = {k: os.environ.get(k) for k in settings}
    os.environ.update(settings)
    aws.reset()
    config.table_name.cache_clear()
    try:
        yield stack
    finally:
        try:
            LARGEST.append(largest_of_state_machine(stack.client("stepfunctions"), stack.outputs["StateMachineArn"]))
        except Exception as error:  # a figure for the summary, never a reason to fail
            print(f"largest state payload not measured: {error!r}")
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        aws.reset()
        config.table_name.cache_clear()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for payload in LARGEST:
        terminalreporter.write_line(f"largest Step Functions state payload of the e2e stack's executions: {payload} "
                                    f"({payload.execution_arn.rsplit(':', 1)[-1]})")
