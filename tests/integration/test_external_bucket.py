"""Uploads to a bucket outside the stack: S3 -> EventBridge "Object Created" -> the rule of
the stack (every bucket that sends events) -> UploadEventsQueue -> the Dispatcher's SQS form -> a run, on the template's
stack in moto (in-process). moto, like S3, sends a bucket's events to EventBridge only when the
bucket's notification configuration has `EventBridgeConfiguration: {}`."""

from __future__ import annotations

import json

import boto3
import pytest
from mediaflow.control import workflows
from mediaflow.control.jobs import get_execution, get_job
from mediaflow.exceptions import InvalidInputError
from mediaflow.local.demo import DEMO_WORKFLOW
from mediaflow.local.deploy import enable_eventbridge
from mediaflow.pipeline import upload_events
from support import LambdaContext, import_handler, load_event, sqs_event

pytestmark = pytest.mark.integration
EXTERNAL = "media-archive-1250000000"  # listed in ExternalBucketNames
KEY = "uploads/summer trip+1.mp4"  # EventBridge does not URL-encode keys; S3 notifications do


@pytest.fixture
def stack_parameters() -> dict[str, str]:
    return {"AllowLoopbackCallbacks": "true", "CallbackRetrySeconds": "1,1", "NotifyMaxReceiveCount": "3",
            "ExternalBucketNames": f"{EXTERNAL},another-external-bucket"}


def upload_events_received(stack) -> list[dict]:
    return boto3.client("sqs").receive_message(QueueUrl=stack.outputs["UploadEventsQueueUrl"], MaxNumberOfMessages=10,
                                               AttributeNames=["All"]).get("Messages", [])


def test_upload_to_an_external_bucket_starts_a_run(stack, handler_env, sample_video) -> None:
    workflow = workflows.create_workflow(EXTERNAL, workflows.parse_workflow_xml(
        DEMO_WORKFLOW.format(prefix="uploads/", callback="http://127.0.0.1:9/cb")))
    boto3.client("s3").upload_file(str(sample_video), EXTERNAL, KEY)

    messages = upload_events_received(stack)
    assert len(messages) == 1
    assert json.loads(messages[0]["Body"])["detail"]["object"]["key"] == KEY
    dispatch = import_handler("dispatch", handler_env)
    event = sqs_event(stack.outputs["UploadEventsQueueUrl"], messages)
    assert dispatch.handler(event, LambdaContext()) == {"batchItemFailures": []}
    assert dispatch.handler(event, LambdaContext()) == {"batchItemFailures": []}  # redelivered: nothing new

    runs = [item for item in boto3.resource("dynamodb").Table(handler_env["TABLE_NAME"]).scan()["Items"]
            if item["pk"].startswith("EXEC#")]
    assert len(runs) == 1
    execution = get_execution(runs[0]["pk"].split("#", 1)[1])
    assert (execution.bucket, execution.object, execution.workflow_id) == (EXTERNAL, KEY, workflow.WorkflowId)
    job = get_job(execution.job_ids[0])
    assert job.Input.BucketId == EXTERNAL and job.Input.Object == KEY
    assert {h.Key: h.Value for h in job.Input.CosHeaders}["EventName"] == "cos:ObjectCreated:*"


def test_a_bucket_without_eventbridge_sends_nothing(stack) -> None:
    s3 = boto3.client("s3")
    # Listed, but its EventBridge notifications are off (the deployer turned them on; undo that).
    s3.put_bucket_notification_configuration(Bucket="another-external-bucket", NotificationConfiguration={})
    s3.put_object(Bucket="another-external-bucket", Key="uploads/a.mp4", Body=b"x")
    assert upload_events_received(stack) == []


def test_an_unserved_bucket_takes_no_workflow_and_its_uploads_start_nothing(stack, handler_env) -> None:
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="unlisted-bucket")
    enable_eventbridge(s3, "unlisted-bucket")
    with pytest.raises(InvalidInputError, match="not served by this stack.*POST /mediabucket"):
        workflows.create_workflow("unlisted-bucket", workflows.parse_workflow_xml(
            DEMO_WORKFLOW.format(prefix="uploads/", callback="http://127.0.0.1:9/cb")))
    assert workflows.list_workflows("unlisted-bucket") == []
    s3.put_object(Bucket="unlisted-bucket", Key="uploads/a.mp4", Body=b"x")
    # The rule matches every bucket that sends events (activation needs no redeploy); nothing runs here.
    messages = upload_events_received(stack)
    assert len(messages) == 1
    result = import_handler("dispatch", handler_env).handler(sqs_event(stack.outputs["UploadEventsQueueUrl"], messages),
                                                             LambdaContext())
    assert result == {"batchItemFailures": []}


def test_a_failing_event_is_reported_alone(stack, handler_env) -> None:
    event = load_event("dispatch-eventbridge")  # an upload to media-archive-1250000000 with no such object
    good = {**event["Records"][0], "messageId": "other",
            "body": json.dumps({**json.loads(event["Records"][0]["body"]), "detail-type": "Object Deleted"})}
    event["Records"].append(good)
    workflows.create_workflow(EXTERNAL, workflows.parse_workflow_xml(
        DEMO_WORKFLOW.format(prefix="uploads/", callback="http://127.0.0.1:9/cb")))
    result = import_handler("dispatch", handler_env).handler(event, LambdaContext())
    # The object is missing (HeadObject fails): that message is retried; the other one is not an upload.
    assert result == {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]}


def test_eventbridge_event_becomes_the_s3_record_dispatch_knows() -> None:
    body = json.loads(load_event("dispatch-eventbridge")["Records"][0]["body"])
    record = upload_events.parse(json.dumps(body))
    assert record is not None
    assert (record.eventName, record.s3.bucket.name, record.key) == ("ObjectCreated:Put", EXTERNAL, KEY)
    assert record.version_token == body["detail"]["object"]["sequencer"]
    body["detail"]["object"]["version-id"] = "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY"
    assert upload_events.parse(json.dumps(body)).version_token == "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY"
    assert upload_events.parse(json.dumps({**body, "detail-type": "Object Deleted"})) is None
