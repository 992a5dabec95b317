"""A stack built from template.yaml inside moto, in-process: the table, queues and buckets the
functions use are the template's, not typed again here."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from mediaflow import aws, config
from mediaflow.local.deploy import Stack, deploy
from mediaflow.local.runtime import (
    NO_INLINE_MAPPINGS,
    atomic_table_requests,
    report_eventbridge_setting,
)
from moto import mock_aws
from moto.sqs import models as sqs_models

ROOT = Path(__file__).resolve().parents[2]
REGION = "us-east-1"
# Powertools reads these when mediaflow.observability is first imported, which may be at collection.
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "Mediaflow")
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "mediaflow")


def _clients(service: str) -> object:
    return boto3.client(service, region_name=REGION)


def deployed_environment(deployed: Stack, function: str, *names: str) -> dict[str, str]:
    """Settings of a deployed function, read back from the emulator."""
    variables = boto3.client("lambda", region_name=REGION).get_function_configuration(
        FunctionName=deployed.resources[function])["Environment"]["Variables"]
    return {name: str(variables.get(name, "")) for name in names}


@pytest.fixture
def stack_parameters() -> dict[str, str]:
    """Template parameters of the `stack` fixture; a test module overrides this fixture to change them."""
    return {"AllowLoopbackCallbacks": "true", "CallbackRetrySeconds": "1,1", "NotifyMaxReceiveCount": "3",
            "TranscribeLanguages": "none"}


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch, stack_parameters: dict[str, str]) -> Iterator[Stack]:
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    # S3 -> Lambda delivery needs the local runtime (tested end to end); here handlers are called directly.
    # SQS -> Lambda likewise: tests play the event source mapping themselves.
    monkeypatch.setattr("moto.s3.notifications._invoke_awslambda", lambda *args, **kwargs: None)
    monkeypatch.setattr(sqs_models.Queue, "lambda_event_source_mappings", NO_INLINE_MAPPINGS, raising=False)
    atomic_table_requests()  # several threads claim at once in some tests
    report_eventbridge_setting()
    with mock_aws():
        deployed = deploy(ROOT / "template.yaml", stack_name="mediaflow", clients=_clients,
                          parameters=stack_parameters,
                          cache_dir=ROOT / ".mediaflow" / "artifacts", code=False)  # handlers run in-process
        outputs = deployed.outputs
        env = {
            "TABLE_NAME": outputs["TableName"],
            "OUTPUT_BUCKET": outputs["OutputBucketName"],
            "MEDIA_QUEUE_URL": outputs["MediaQueueUrl"],
            "NOTIFY_QUEUE_URL": outputs["NotifyQueueUrl"],
            "NOTIFY_DLQ_URL": outputs["NotifyDeadLetterQueueUrl"],
            "STATE_MACHINE_ARN": outputs["StateMachineArn"],
            "CALLBACK_RETRY_SECONDS": stack_parameters.get("CallbackRetrySeconds", "1,1"),
            "CALLBACK_TIMEOUT_SECONDS": stack_parameters.get("CallbackTimeoutSeconds", "10"),
            "ALLOW_LOOPBACK_CALLBACKS": "true",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_METRICS_NAMESPACE": "Mediaflow",
            "POWERTOOLS_SERVICE_NAME": "mediaflow",
            # the API function's settings
            "INPUT_BUCKET": outputs["InputBucketName"],
            "ACCESS_KEYS_SECRET_ARN": outputs["AccessKeysSecretArn"],
            "SPEECH_QUEUE_URL": outputs["SpeechQueueUrl"],
            "DOC_QUEUE_URL": outputs["DocQueueUrl"],
            # bucket activation and notification targets, as the template builds them
            **deployed_environment(deployed, "ApiFunction", "EXTERNAL_BUCKETS", "BUCKET_READER_ROLES",
                                   "BUCKET_WRITER_ROLES", "NOTIFY_TARGET_NAMES", "STACK_QUEUES"),
        }
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        aws.reset()
        config.table_name.cache_clear()
        yield deployed
    aws.reset()
    config.table_name.cache_clear()


@pytest.fixture
def handler_env() -> dict[str, str]:
    return {k: os.environ[k] for k in ("TABLE_NAME", "OUTPUT_BUCKET", "MEDIA_QUEUE_URL", "SPEECH_QUEUE_URL",
                                       "DOC_QUEUE_URL", "NOTIFY_QUEUE_URL",
                                       "NOTIFY_DLQ_URL", "STATE_MACHINE_ARN", "CALLBACK_RETRY_SECONDS",
                                       "CALLBACK_TIMEOUT_SECONDS", "ALLOW_LOOPBACK_CALLBACKS")}


@pytest.fixture
def serve(stack):
    """The API function's `handler` in-process, the stack's secret holding the tests' key pair."""
    import json

    from mediaflow.faces import app, auth
    from support import API_KEY_ID, API_SECRET, LambdaContext

    boto3.client("secretsmanager").put_secret_value(
        SecretId=stack.outputs["AccessKeysSecretArn"], SecretString=json.dumps({"SecretId": API_KEY_ID, "SecretKey": API_SECRET}))
    auth.reset()
    yield lambda event: app.handler(event, LambdaContext())
    auth.reset()
