"""Tencent's own COS Python SDK (cos-python-sdk-v5), pointed at the local API, drives the stack unchanged:
templates, queues, workflows, jobs. Every answer is checked against what the stack then holds."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest
from mediaflow.control import templates
from mediaflow.control.jobs import get_job
from mediaflow.control.queues import get_queue
from mediaflow.control.workflows import get_workflow
from mediaflow.notify.secrets import bucket_secret
from mediaflow.times import parse_ci_time
from qcloud_cos import CosConfig, CosS3Client
from qcloud_cos.cos_exception import CosServiceError
from support import make_video

pytestmark = pytest.mark.e2e
MP4_SD = "t04e1ab86554984f1aa17c062fbf6c007c"
SNAPSHOT_320 = "t01d40e440761448fc8c538fb8d5a5b81e"
GIF_10FPS = "t046b1d8e5bdf842c6a58d8028b48eafee"


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [] if value is None else [value]


def wait_for(check: Callable[[], Any], timeout: float = 120, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.5)
    pytest.fail(f"timed out waiting for {what}")


@pytest.fixture(scope="module")
def cos(local_stack) -> CosS3Client:
    api = urlsplit(local_stack.api_url)
    return CosS3Client(CosConfig(Region="us-east-1", SecretId=local_stack.secret_id, SecretKey=local_stack.secret_key,
                                 IP=api.hostname, Port=api.port, Scheme="http"))


@pytest.fixture(scope="module")
def bucket(local_stack, tmp_path_factory) -> str:
    name = local_stack.outputs["InputBucketName"]
    clip = make_video(tmp_path_factory.mktemp("sdk") / "clip.mp4", seconds=3, size="640x360")
    local_stack.client("s3").upload_file(str(clip), name, "sdk/clip.mp4")
    return name


@pytest.fixture(scope="module")
def media_queue(cos, bucket) -> str:
    answer = cos.ci_get_media_queue(Bucket=bucket)
    queues = as_list(answer["QueueList"])
    assert [q["Name"] for q in queues] == ["queue-1"] and answer["TotalCount"] == "1"
    return queues[0]["QueueId"]


def set_queue_state(cos: CosS3Client, bucket: str, queue_id: str, state: str) -> dict[str, Any]:
    return cos.ci_update_media_queue(Bucket=bucket, QueueId=queue_id,
                                     Request={"Name": "queue-1", "State": state, "NotifyConfig": {"State": "Off"}})


def test_official_templates_are_listed_and_cannot_be_deleted(cos, bucket) -> None:
    answer = cos.ci_get_template(Bucket=bucket, Category="Official", PageSize=100)
    listed = {t["TemplateId"]: t for t in as_list(answer["TemplateList"])}
    assert listed[MP4_SD]["Name"] == "MP4-SD" and listed[MP4_SD]["Category"] == "Official"
    assert listed[MP4_SD]["TransTpl"]["Video"]["Codec"] == "H.264"
    assert int(answer["TotalCount"]) == len(templates.OFFICIAL)
    with pytest.raises(CosServiceError) as refused:
        cos.ci_delete_template(Bucket=bucket, TemplateId=MP4_SD)
    assert refused.value.get_status_code() == 400 and refused.value.get_error_code() == "InvalidArgument"


def test_a_custom_template_is_created_and_held(cos, bucket) -> None:
    answer = cos.ci_create_template(Bucket=bucket, Template={
        "Tag": "Transcode", "Name": "sdk-mp4-320", "Container": {"Format": "mp4"},
        "Video": {"Codec": "H.264", "Width": "320", "Bitrate": "300"}, "Audio": {"Codec": "aac", "Bitrate": "64"}})
    created = answer["Template"]
    held = templates.get_template(created["TemplateId"])
    assert held.BucketId == bucket and held.Name == "sdk-mp4-320" and held.params["Video"]["Width"] == 320
    listed = cos.ci_get_template(Bucket=bucket, Ids=created["TemplateId"])
    assert as_list(listed["TemplateList"])[0]["TransTpl"]["Video"]["Width"] == "320"


def test_a_paused_queue_holds_jobs_and_cancel_removes_one(cos, bucket, media_queue) -> None:
    try:  # resumed whatever happens: a queue left paused would hold every later test's jobs
        answer = set_queue_state(cos, bucket, media_queue, "Paused")
        assert as_list(answer["Queue"])[0]["State"] == "Paused" and get_queue(media_queue).State == "Paused"
        created = cos.ci_create_media_jobs(Bucket=bucket, Jobs={
            "Tag": "Transcode", "Input": {"Object": "sdk/clip.mp4"}, "QueueId": media_queue,
            "Operation": [{"TemplateId": MP4_SD, "Output": {"Object": "sdk/held-${Jobid}.mp4"}, "JobLevel": "1"},
                          {"TemplateId": MP4_SD, "Output": {"Object": "sdk/cancelled.mp4"}}]}, Lst={})
        first, second = as_list(created["JobsDetail"])
        assert first["State"] == second["State"] == "Pause" and first["Operation"]["JobLevel"] == "1"
        described = cos.ci_get_media_jobs(Bucket=bucket, JobIDs=f"{first['JobId']},{second['JobId']},j{'0' * 32}")
        assert {j["JobId"] for j in as_list(described["JobsDetail"])} == {first["JobId"], second["JobId"]}
        assert as_list(described["NonExistJobIds"]) == [f"j{'0' * 32}"]
        cos.ci_cancel_jobs(Bucket=bucket, JobID=second["JobId"])
        assert get_job(second["JobId"]).State == "Cancel"
        shown = as_list(cos.ci_get_media_queue(Bucket=bucket)["QueueList"])[0]
        assert shown["Statistics"]["Waiting"] == "1"  # the held job; the cancelled one left the order
        assert shown["NotifySigningKey"] == bucket_secret(bucket)
        listed = cos.ci_list_media_jobs(Bucket=bucket, Tag="Transcode", States="Pause", Size=100)
        assert first["JobId"] in {j["JobId"] for j in as_list(listed.get("JobsDetail"))}
    finally:
        set_queue_state(cos, bucket, media_queue, "Active")
    wait_for(lambda: get_job(first["JobId"]).State == "Success", what="the held job to run after resume")
    assert get_job(second["JobId"]).State == "Cancel"
    with pytest.raises(CosServiceError) as refused:
        cos.ci_cancel_jobs(Bucket=bucket, JobID=first["JobId"])
    assert refused.value.get_status_code() == 400


def test_a_workflow_runs_its_serial_step_after_the_parallel_ones(cos, bucket, media_queue, local_stack) -> None:
    output = local_stack.outputs["OutputBucketName"]
    created = cos.ci_create_workflow(Bucket=bucket, Body={"MediaWorkflow": {
        "Name": "sdk-serial-after-parallel", "State": "Active",
        "Topology": {
            "Dependencies": {"Start": "Transcode_1,Snapshot_1", "Transcode_1": "Animation_1",
                             "Snapshot_1": "End", "Animation_1": "End"},
            "Nodes": {
                "Start": {"Type": "Start", "Input": {"QueueId": media_queue, "ObjectPrefix": "sdk-wf/"}},
                "Transcode_1": {"Type": "Transcode", "Operation": {
                    "TemplateId": MP4_SD, "Output": {"Bucket": output, "Object": "sdk-wf/${RunId}/video.${ext}"}}},
                "Snapshot_1": {"Type": "Snapshot", "Operation": {
                    "TemplateId": SNAPSHOT_320, "Output": {"Bucket": output, "Object": "sdk-wf/${RunId}/snap-${Number}.jpg"}}},
                "Animation_1": {"Type": "Animation", "Operation": {
                    "TemplateId": GIF_10FPS, "Output": {"Bucket": output, "Object": "sdk-wf/${RunId}/anim.${ext}"}}},
            }}}})
    workflow_id = created["MediaWorkflow"]["WorkflowId"]
    assert get_workflow(bucket, workflow_id).Topology.stages()["Animation_1"] == 1
    paused = cos.ci_update_workflow_state(Bucket=bucket, WorkflowId=workflow_id, UpdateState="paused")
    assert paused["State"] == "Paused" and get_workflow(bucket, workflow_id).State == "Paused"
    cos.ci_update_workflow_state(Bucket=bucket, WorkflowId=workflow_id, UpdateState="active")

    run_id = cos.ci_trigger_workflow(Bucket=bucket, WorkflowId=workflow_id, Key="sdk/clip.mp4")["InstanceId"]
    assert run_id.startswith("i") and len(run_id) == 33

    def finished() -> dict[str, Any] | None:
        execution = as_list(cos.ci_get_workflowexecution(Bucket=bucket, RunId=run_id)["WorkflowExecution"])[0]
        return execution if execution["State"] in ("Success", "Failed") else None

    execution = wait_for(finished, what="the workflow run")
    tasks = {t["Name"]: t for t in as_list(execution["Tasks"])}
    assert {n: t["State"] for n, t in tasks.items()} == {"Transcode_1": "Success", "Snapshot_1": "Success", "Animation_1": "Success"}
    assert execution["State"] == "Success" and all(t["JobId"].startswith("j") for t in tasks.values())
    # the serial step started after the step it follows had ended
    assert parse_ci_time(tasks["Animation_1"]["StartTime"]) >= parse_ci_time(tasks["Transcode_1"]["EndTime"])
    animation = get_job(tasks["Animation_1"]["JobId"])
    assert animation.Operation.MediaResult["OutputFile"]["ObjectName"] == [f"sdk-wf/{run_id}/anim.gif"]
    listed = cos.ci_list_workflowexecution(Bucket=bucket, WorkflowId=workflow_id)
    assert [r["RunId"] for r in as_list(listed["WorkflowExecutionList"])] == [run_id]
    assert as_list(cos.ci_get_workflow(Bucket=bucket, Ids=workflow_id)["MediaWorkflowList"])[0]["Name"] == "sdk-serial-after-parallel"
    cos.ci_delete_workflow(Bucket=bucket, WorkflowId=workflow_id)
    assert as_list(cos.ci_get_workflow(Bucket=bucket, Ids=workflow_id).get("NonExistIDs")) == [workflow_id]
