"""Upload -> dispatcher -> FIFO -> processor -> Step Functions -> ffmpeg units -> notifier -> real HTTP callback."""

from __future__ import annotations

import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import xmltodict
from mediaflow.control import workflows
from mediaflow.control.queues import ensure_queues
from mediaflow.local.demo import (
    DEMO_WORKFLOW,
    CallbackReceiver,
    is_workflow_finish,
    run_reported,
)
from mediaflow.media import probe
from mediaflow.notify import verify
from mediaflow.notify.secrets import bucket_secret
from support import free_port

pytestmark = pytest.mark.e2e

RUN_BUDGET = 180  # seconds for one run to reach its WorkflowFinish callback


def bind(bucket: str, prefix: str, callback: str) -> workflows.Workflow:
    return workflows.create_workflow(bucket, workflows.parse_workflow_xml(DEMO_WORKFLOW.format(prefix=prefix, callback=callback)))


def task_details(received: list[dict]) -> dict[str, dict]:
    """JobsDetail of each TaskFinish callback, by node name."""
    details = {}
    for callback in received:
        response = xmltodict.parse(callback["body"])["Response"]
        if response["EventName"] == "TaskFinish":
            details[response["JobsDetail"]["Workflow"]["Name"]] = response["JobsDetail"]
    return details


@pytest.fixture
def receiver():
    server = CallbackReceiver()
    yield server
    server.stop()


def test_upload_runs_the_workflow_and_calls_back(local_stack, receiver, sample_video: Path, tmp_path: Path) -> None:
    bucket, out_bucket = local_stack.outputs["InputBucketName"], local_stack.outputs["OutputBucketName"]
    bind(bucket, "ok/", receiver.url)
    local_stack.client("s3").upload_file(str(sample_video), bucket, "ok/clip.mp4")

    assert receiver.wait_for(run_reported, timeout=RUN_BUDGET), f"no WorkflowFinish callback; got {len(receiver.received)}"

    secret = bucket_secret(bucket)
    for callback in receiver.received:
        verify(secret, callback["headers"], callback["body"])  # signed with the bucket's key
        assert callback["headers"]["Content-Type"] == "application/xml"
    details = task_details(receiver.received)
    assert set(details) == {"Transcode_360", "Transcode_720", "Snapshot_1"}
    assert all(d["State"] == "Success" and d["Code"] == "Success" for d in details.values())

    source = probe(str(sample_video))
    s3 = local_stack.client("s3")
    for node, height in (("Transcode_360", 360), ("Transcode_720", 720)):
        output = details[node]["Operation"]["MediaResult"]["OutputFile"]
        key = output["ObjectName"]
        assert key == f"ok/clip_{height}p.mp4"
        local = tmp_path / f"{height}.mp4"
        s3.download_file(out_bucket, key, str(local))
        info = probe(str(local))
        assert info.height == height and info.width == height * 16 // 9
        assert abs(info.duration - source.duration) <= 0.1
        assert info.video.CodecName == "h264" and info.audio.CodecName == "aac"
        assert output["Md5Info"]["Md5"] == s3.head_object(Bucket=out_bucket, Key=key)["ETag"].strip('"')
        assert details[node]["Operation"]["MediaInfo"]["Stream"]["Video"]["Height"] == str(height)
    snapshots = details["Snapshot_1"]["Operation"]["MediaResult"]["OutputFile"]["ObjectName"]
    assert snapshots == [f"ok/clip_snap_{i}.jpg" for i in range(4)]
    run = xmltodict.parse(next(r["body"] for r in receiver.received if b"WorkflowFinish" in r["body"]))
    assert run["Response"]["WorkflowExecution"]["State"] == "Success"


def test_corrupt_upload_fails_with_a_reason_and_leaves_nothing_stuck(local_stack, receiver, tmp_path: Path) -> None:
    bucket, out_bucket = local_stack.outputs["InputBucketName"], local_stack.outputs["OutputBucketName"]
    bind(bucket, "bad/", receiver.url)
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(os.urandom(64 * 1024))
    local_stack.client("s3").upload_file(str(broken), bucket, "bad/broken.mp4")

    assert receiver.wait_for(run_reported, timeout=RUN_BUDGET)

    details = task_details(receiver.received)
    assert set(details) == {"Transcode_360", "Transcode_720", "Snapshot_1"}
    for detail in details.values():
        assert detail["State"] == "Failed" and detail["Code"] != "Success"
        assert "media" in detail["Message"].lower() or "invalid data" in detail["Message"].lower(), detail["Message"]
    assert local_stack.client("s3").list_objects_v2(Bucket=out_bucket, Prefix="bad/").get("KeyCount", 0) == 0
    assert_nothing_stuck(local_stack, bucket)


def assert_nothing_stuck(local_stack, bucket: str) -> None:
    """Every queue drained (nothing waiting or in flight) and the queue's running count back to zero."""
    sqs = local_stack.client("sqs")
    deadline = time.monotonic() + 30
    while True:
        counts = {}
        for url in sqs.list_queues()["QueueUrls"]:
            attributes = sqs.get_queue_attributes(
                QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
            )["Attributes"]
            counts[url.rsplit("/", 1)[1]] = sum(int(v) for v in attributes.values())
        queue = ensure_queues(bucket)["media"]
        from mediaflow.persistence import store

        running = store.get_attribute(f"QUEUE#{queue.QueueId}", "QUEUE", "running")
        if not any(counts.values()) and int(running or 0) == 0:
            return
        if time.monotonic() > deadline:
            pytest.fail(f"left behind: {counts}, running={running}")
        time.sleep(0.5)


def test_callback_receiver_down_keeps_the_notification(local_stack, tmp_path: Path, sample_video: Path) -> None:
    """Deliveries to a closed port are retried on the schedule, then wait in the DLQ; a redrive delivers them."""
    bucket = local_stack.outputs["InputBucketName"]
    port = free_port()
    bind(bucket, "down/", f"http://127.0.0.1:{port}/callback")
    local_stack.client("s3").upload_file(str(sample_video), bucket, "down/clip.mp4")

    sqs = local_stack.client("sqs")
    dlq = local_stack.outputs["NotifyDeadLetterQueueUrl"]
    deadline = time.monotonic() + RUN_BUDGET
    while time.monotonic() < deadline:
        waiting = int(sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["ApproximateNumberOfMessages"])
                      ["Attributes"]["ApproximateNumberOfMessages"])
        if waiting >= 4:
            break
        time.sleep(1)
    assert waiting == 4, "3 TaskFinish + 1 WorkflowFinish notifications should wait in the DLQ"

    receiver = CallbackReceiver(port=port)
    try:
        from mediaflow.notify.deliver import redrive

        assert redrive(dlq, local_stack.outputs["NotifyQueueUrl"]) == 4
        assert receiver.wait_for(lambda r: len(r) >= 4, timeout=60)
        assert sum(b"TaskFinish" in r["body"] for r in receiver.received) == 3
    finally:
        receiver.stop()


def test_json_callbacks_when_the_rule_asks(local_stack, receiver, sample_video: Path) -> None:
    bucket = local_stack.outputs["InputBucketName"]
    body = DEMO_WORKFLOW.format(prefix="json/", callback=receiver.url).replace(
        "<ResultFormat>XML</ResultFormat>", "<ResultFormat>JSON</ResultFormat>")
    workflows.create_workflow(bucket, workflows.parse_workflow_xml(body))
    local_stack.client("s3").upload_file(str(sample_video), bucket, "json/clip.mp4")

    assert receiver.wait_for(lambda r: len(r) >= 4, timeout=RUN_BUDGET)  # 3 TaskFinish + 1 WorkflowFinish, any order

    bodies = [json.loads(r["body"]) for r in receiver.received]
    assert all(r["headers"]["Content-Type"] == "application/json" for r in receiver.received)
    tasks = [b["JobsDetail"] for b in bodies if b["EventName"] == "TaskFinish"]
    assert sorted(t["Workflow"]["Name"] for t in tasks) == ["Snapshot_1", "Transcode_360", "Transcode_720"]
    assert all(t["State"] == "Success" for t in tasks)
    run = next(b["WorkflowExecution"] for b in bodies if b["EventName"] == "WorkflowFinish")
    assert run["State"] == "Success" and len(run["Tasks"]) == 3


def test_concurrent_uploads_each_run_once(local_stack, receiver, sample_video: Path) -> None:
    """Several uploads at once: each gets its own run, all succeed, every output exists once."""
    bucket, out_bucket = local_stack.outputs["InputBucketName"], local_stack.outputs["OutputBucketName"]
    bind(bucket, "many/", receiver.url)
    s3 = local_stack.client("s3")
    keys = [f"many/clip{i}.mp4" for i in range(3)]
    with ThreadPoolExecutor(len(keys)) as pool:
        list(pool.map(lambda key: s3.upload_file(str(sample_video), bucket, key), keys))

    assert receiver.wait_for(lambda r: sum(map(is_workflow_finish, r)) >= len(keys), timeout=RUN_BUDGET * 2)

    runs = [xmltodict.parse(r["body"])["Response"]["WorkflowExecution"] for r in receiver.received if is_workflow_finish(r)]
    assert sorted(run["Object"] for run in runs) == keys
    assert all(run["State"] == "Success" for run in runs) and len({run["RunId"] for run in runs}) == len(keys)
    names = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=out_bucket, Prefix="many/")["Contents"])
    assert len(names) == len(keys) * 6  # two renditions and four snapshots each
    assert_nothing_stuck(local_stack, bucket)
