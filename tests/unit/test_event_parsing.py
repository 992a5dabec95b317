"""Parsing at the edges: S3 records, Step Functions errors, the callback retry schedule."""

import json

import pytest
from mediaflow.notify.deliver import DeliverySettings
from mediaflow.pipeline.dispatch import S3Event
from mediaflow.pipeline.finish import StepError
from support import load_event

pytestmark = pytest.mark.unit


def test_s3_record_key_is_decoded_and_versioned() -> None:
    event = load_event("dispatch-upload")
    event["Records"][0]["s3"]["object"]["key"] = "uploads/my+clip+%C3%BC%2B1.mp4"
    record = S3Event.model_validate(event).Records[0]
    assert record.key == "uploads/my clip ü+1.mp4"  # S3 URL-encodes keys, spaces as '+'
    assert record.version_token == "0066F1C2D3E4F5A6B7"  # the sequencer when the bucket is unversioned


@pytest.mark.parametrize(
    ("obj", "token"),
    [({"key": "k", "versionId": "v1", "sequencer": "s", "eTag": "e"}, "v1"),
     ({"key": "k", "sequencer": "s", "eTag": "e"}, "s"),
     ({"key": "k", "eTag": "e"}, "e")],
)
def test_version_token_prefers_the_version(obj: dict, token: str) -> None:
    record = {"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": "b"}, "object": obj}}
    assert S3Event.model_validate({"Records": [record]}).Records[0].version_token == token


def test_step_error_from_a_lambda_error_uses_its_type_and_message() -> None:
    cause = {"errorType": "MediaError", "errorMessage": "in.mp4 is not a media file ffmpeg can read", "stackTrace": []}
    error = StepError(Error="MediaError", Cause=json.dumps(cause))
    assert error.code_and_message() == ("InvalidMedia", "in.mp4 is not a media file ffmpeg can read")
    download = StepError(Error="DownloadError", Cause=json.dumps({"errorType": "DownloadError", "errorMessage": "gone"}))
    assert download.code_and_message() == ("ResourceDownloadFailed", "gone")


def test_step_error_from_states_keeps_the_cause_text() -> None:
    assert StepError(Error="States.Timeout", Cause="Task timed out").code_and_message() == ("InternalError", "Task timed out")
    assert StepError(Error="States.TaskFailed").code_and_message() == ("InternalError", "States.TaskFailed")


def test_retry_schedule_by_attempt_with_jitter() -> None:
    settings = DeliverySettings(queue_url="q", dead_letter_url="d", retry_seconds=(5, 300, 86400), allow_loopback=False)
    for _ in range(50):
        delays = [settings.delay_after(n) for n in (1, 2, 3)]
        assert 4.5 <= delays[0] <= 5.5 and 270 <= delays[1] <= 330 and 77760 <= delays[2] <= 95040
    assert len({settings.delay_after(2) for _ in range(20)}) > 1  # jittered, so retries do not arrive in waves
