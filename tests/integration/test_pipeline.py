"""The steps of one run called in order with their events/ samples, in-process: plan -> units -> finish
-> notifier -> a real local HTTP receiver. (Step Functions drives the same steps in e2e.)"""

from __future__ import annotations

import json

import boto3
import pytest
import xmltodict

from mediaflow.jobs import get_execution, get_job
from mediaflow.local.demo import CallbackReceiver
from mediaflow.notify import verify
from mediaflow.queues import bucket_secret
from support import EVENT_BUCKET, LambdaContext, dispatched_run, import_handler, load_event, sqs_event

pytestmark = pytest.mark.integration

BUCKET = EVENT_BUCKET


@pytest.fixture
def receiver():
    server = CallbackReceiver()
    yield server
    server.stop()


def notify_event(queue_url: str) -> tuple[dict, list[dict]]:
    """Receive the notification queue's messages as the event source mapping hands them over."""
    messages = boto3.client("sqs").receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10,
                                                   AttributeNames=["All"]).get("Messages", [])
    return sqs_event(queue_url, messages), messages


def test_unit_events_produce_real_outputs(stack, handler_env, sample_video) -> None:
    run_id = dispatched_run(handler_env, sample_video)
    jobs = {get_job(j).Workflow.Name: j for j in get_execution(run_id).job_ids}
    unit = import_handler("unit", handler_env)

    transcode = load_event("unit-transcode") | {"execution_id": run_id, "job_id": jobs["Transcode_360"]}
    snapshot = load_event("unit-snapshot") | {"execution_id": run_id, "job_id": jobs["Snapshot_1"]}
    made = [unit.handler(transcode, LambdaContext()), unit.handler(snapshot, LambdaContext())]

    assert all(result["ok"] for result in made), made
    assert [o["key"] for o in made[0]["outputs"]] == ["uploads/sample_360p.mp4"]
    assert made[0]["media_info"]["Stream"]["Video"][0]["Height"] == "360"
    assert [o["key"] for o in made[1]["outputs"]] == [f"uploads/sample_snap_{i}.jpg" for i in range(4)]
    s3 = boto3.client("s3")
    for output in made[0]["outputs"] + made[1]["outputs"]:
        head = s3.head_object(Bucket=output["bucket"], Key=output["key"])
        assert head["ContentLength"] == output["size"] and head["ETag"].strip('"') == output["md5"]
    assert get_job(jobs["Transcode_360"]).Progress == 99  # done, not yet recorded by finish


def test_unit_event_on_a_corrupt_input_fails_the_job_not_the_worker(stack, handler_env, sample_video) -> None:
    run_id = dispatched_run(handler_env, sample_video)
    boto3.client("s3").put_object(Bucket=BUCKET, Key="uploads/sample.mp4", Body=b"\x00" * 4096)
    job_id = get_execution(run_id).job_ids[0]
    result = import_handler("unit", handler_env).handler(
        load_event("unit-transcode") | {"execution_id": run_id, "job_id": job_id}, LambdaContext()
    )
    assert result["ok"] is False and result["code"] != "Success" and result["message"]
    assert boto3.client("s3").list_objects_v2(Bucket=stack.outputs["OutputBucketName"]).get("KeyCount", 0) == 0


def test_plan_units_finish_notify_deliver_signed_callbacks(stack, handler_env, sample_video, receiver) -> None:
    run_id = dispatched_run(handler_env, sample_video, receiver.url)
    plan = import_handler("plan", handler_env).handler(load_event("plan-execution") | {"execution_id": run_id}, LambdaContext())
    unit = import_handler("unit", handler_env)
    answers = [unit.handler(load_event("unit-planned") | {"execution_id": run_id, "index": n}, LambdaContext())
               for n in plan["units"]]
    assert answers == [{"ok": True, "index": n, "report": False} for n in plan["units"]]
    finish = import_handler("finish", handler_env)
    recorded = finish.handler(load_event("finish-record-stage") | {"execution_id": run_id}, LambdaContext())
    assert len(recorded["recorded"]) == 3

    outcome = finish.handler({"execution_id": run_id}, LambdaContext())
    assert outcome["state"] == "Success"

    event, _ = notify_event(stack.outputs["NotifyQueueUrl"])
    assert len(event["Records"]) == 4
    response = import_handler("notify", handler_env).handler(event, LambdaContext())

    assert response == {"batchItemFailures": []}
    assert len(receiver.received) == 4
    secret = bucket_secret(BUCKET)
    names = []
    for callback in receiver.received:
        verify(secret, callback["headers"], callback["body"])
        body = xmltodict.parse(callback["body"])["Response"]
        if body["EventName"] == "TaskFinish":
            names.append(body["JobsDetail"]["Workflow"]["Name"])
            assert body["JobsDetail"]["State"] == "Success" and body["JobsDetail"]["Progress"] == "100"
    assert sorted(names) == ["Snapshot_1", "Transcode_360", "Transcode_720"]


def test_notify_refuses_unsafe_url_straight_to_the_dlq(stack, handler_env) -> None:
    sqs = boto3.client("sqs")
    notification = json.loads(load_event("notify-callback")["Records"][0]["body"]) | {"bucket": BUCKET}
    notification["rule"]["Url"] = "http://169.254.169.254/latest/meta-data/"
    sqs.send_message(QueueUrl=stack.outputs["NotifyQueueUrl"], MessageBody=json.dumps(notification))
    event, _ = notify_event(stack.outputs["NotifyQueueUrl"])

    assert import_handler("notify", handler_env).handler(event, LambdaContext()) == {"batchItemFailures": []}

    dead = sqs.receive_message(QueueUrl=stack.outputs["NotifyDeadLetterQueueUrl"], MessageAttributeNames=["All"])["Messages"]
    reason = dead[0]["MessageAttributes"]["reason"]["StringValue"]
    assert "169.254.169.254" in reason and "refused" in reason
