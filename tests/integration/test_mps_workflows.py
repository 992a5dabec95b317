"""MPS workflows through the API function in-process: CreateWorkflow, DescribeWorkflows, Enable/Disable/
Reset/DeleteWorkflow with the SDK's signature, over the same workflow records as the COS face, and the
one dispatcher turning an upload into an MPS task (no media work: the task is only queued here)."""

from __future__ import annotations

import json
import os

import boto3
import pytest
import xmltodict
from mediaflow.persistence import store
from mediaflow.shapes.mps import is_task_id
from support import cos_event, dispatched, serve_bucket, tc3_event

pytestmark = pytest.mark.integration
BUCKET = "mps-flow-media"
FLOW = {
    "WorkflowName": "flow",
    "Trigger": {"Type": "AWS-S3", "AwsS3FileUploadTrigger": {"S3Bucket": BUCKET, "S3Region": "us-east-1",
                                                             "Dir": "/in/", "Formats": ["mp4"]}},
    "MediaProcessTask": {"TranscodeTaskSet": [{"Definition": 100010}]},
    "TaskNotifyConfig": {"NotifyType": "URL", "NotifyUrl": "http://127.0.0.1:9/cb"},
    "TaskPriority": 2,
}


def call(serve, action: str, params: dict) -> dict:
    answer = serve(tc3_event(action, params))
    assert answer["statusCode"] == 200, answer
    return json.loads(answer["body"])["Response"]


def uploaded(*keys: str) -> list[str]:
    s3 = boto3.client("s3")
    records = []
    for key in keys:
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"x")
        records.append({"eventName": "ObjectCreated:Put", "awsRegion": "us-east-1",
                        "s3": {"bucket": {"name": BUCKET}, "object": {"key": key, "sequencer": key}}})
    return dispatched(records)


def test_a_workflow_is_created_disabled_runs_uploads_once_enabled_and_is_deleted_once_disabled(serve) -> None:
    serve_bucket(BUCKET)
    workflow_id = call(serve, "CreateWorkflow", FLOW)["WorkflowId"]
    assert isinstance(workflow_id, int) and 10**9 <= workflow_id < 10**10
    listed = call(serve, "DescribeWorkflows", {"WorkflowIds": [workflow_id]})
    assert listed["TotalCount"] == 1 and listed["WorkflowInfoSet"][0]["Status"] == "Disabled"
    assert listed["WorkflowInfoSet"][0]["Trigger"] == FLOW["Trigger"]
    assert uploaded("in/a.mp4") == []  # disabled: nothing runs

    call(serve, "EnableWorkflow", {"WorkflowId": workflow_id})
    assert call(serve, "DescribeWorkflows", {"Status": "Enabled"})["TotalCount"] == 1
    assert uploaded("in/b.mkv", "elsewhere/c.mp4") == []  # another format, outside Dir
    (task_id,) = uploaded("in/deep/d.mp4")
    assert is_task_id(task_id)
    detail = call(serve, "DescribeTaskDetail", {"TaskId": task_id})
    task = detail["WorkflowTask"]
    assert detail["Status"] == "WAITING" and task["InputInfo"]["S3InputInfo"]["S3Object"] == "/in/deep/d.mp4"
    assert [r["Type"] for r in task["MediaProcessResultSet"]] == ["Transcode"]
    assert task_id in [t["TaskId"] for t in call(serve, "DescribeTasks", {"Limit": 100})["TaskSet"]]
    assert uploaded("in/deep/d.mp4") == [task_id]  # the same upload's event again: the same task

    # One store: the COS face lists it, and leaves changing it to the face it was made on.
    host = f"http://{BUCKET}.ci.us-east-1.myqcloud.com"
    cos = xmltodict.parse(serve(cos_event("GET", f"{host}/workflow?ids={workflow_id}"))["body"])["Response"]
    assert cos["MediaWorkflowList"]["WorkflowId"] == str(workflow_id)
    body = xmltodict.unparse({"Request": {"MediaWorkflow": {"Name": "x", "Topology": {
        "Dependencies": {"Start": "End"}, "Nodes": {"Start": {"Type": "Start"}}}}}}).encode()
    changed = serve(cos_event("PUT", f"{host}/workflow/{workflow_id}", body=body))
    assert changed["statusCode"] == 400 and "ResetWorkflow" in changed["body"]

    reset = call(serve, "ResetWorkflow", {**FLOW, "WorkflowId": workflow_id, "TaskPriority": -3,
                                          "MediaProcessTask": {"SampleSnapshotTaskSet": [{"Definition": 10}]}})
    assert "Error" not in reset
    info = call(serve, "DescribeWorkflows", {"WorkflowIds": [workflow_id]})["WorkflowInfoSet"][0]
    assert info["TaskPriority"] == -3 and info["Status"] == "Enabled" and "SampleSnapshotTaskSet" in info["MediaProcessTask"]

    refused = call(serve, "DeleteWorkflow", {"WorkflowId": workflow_id})
    assert refused["Error"]["Code"] == "FailedOperation.InvalidStatus"
    call(serve, "DisableWorkflow", {"WorkflowId": workflow_id})
    assert uploaded("in/e.mp4") == []
    assert "Error" not in call(serve, "DeleteWorkflow", {"WorkflowId": workflow_id})
    assert call(serve, "DescribeWorkflows", {"WorkflowIds": [workflow_id]})["TotalCount"] == 0
    gone = call(serve, "EnableWorkflow", {"WorkflowId": workflow_id})
    assert gone["Error"]["Code"] == "ResourceNotFound.WorkflowNotExist"


def written() -> list[tuple[str, str]]:
    """The table's records, less those of signatures seen (every signed request leaves one)."""
    return sorted((i["pk"], i["sk"]) for i in store.table().scan()["Items"] if not i["pk"].startswith("SIGNATURE#"))


def test_a_workflow_that_cannot_run_is_refused_and_nothing_is_written(serve) -> None:
    serve_bucket(BUCKET)
    before = written()
    elsewhere = call(serve, "CreateWorkflow", {**FLOW, "Trigger": {"Type": "CosFileUpload", "CosFileUploadTrigger": {
        "Bucket": "not-served-here", "Region": "us-east-1"}}})
    assert "not served" in elsewhere["Error"]["Message"]
    unknown = call(serve, "CreateWorkflow", {**FLOW, "MediaProcessTask": {"TranscodeTaskSet": [{"Definition": 1}]}})
    assert unknown["Error"]["Code"] == "InvalidParameterValue"
    assert written() == before


def test_manage_task_aborts_a_task_waiting_in_a_paused_queue(serve) -> None:
    """Abort ends a WAITING task for good: FINISH with a clear message, its subtasks Cancelled, nothing
    started (it never took a slot); a task that is not waiting is not aborted."""
    from mediaflow.control.jobs import get_execution, get_job
    from mediaflow.control.queues import ensure_queues, update_queue

    serve_bucket(BUCKET)
    queue = ensure_queues(BUCKET)["media"]
    update_queue(BUCKET, "media", queue.QueueId, {"Name": queue.Name, "State": "Paused"},
                 queue_url=os.environ["MEDIA_QUEUE_URL"])
    boto3.client("s3").put_object(Bucket=BUCKET, Key="in/wait.mp4", Body=b"x")
    task_id = call(serve, "ProcessMedia", {
        "InputInfo": {"Type": "COS", "CosInputInfo": {"Bucket": BUCKET, "Region": "us-east-1", "Object": "/in/wait.mp4"}},
        "MediaProcessTask": {"TranscodeTaskSet": [{"Definition": 100010}],
                             "SampleSnapshotTaskSet": [{"Definition": 10}]}})["TaskId"]
    assert call(serve, "DescribeTaskDetail", {"TaskId": task_id})["Status"] == "WAITING"

    assert "Error" not in call(serve, "ManageTask", {"OperationType": "Abort", "TaskId": task_id})
    detail = call(serve, "DescribeTaskDetail", {"TaskId": task_id})
    task = detail["WorkflowTask"]
    assert detail["Status"] == "FINISH" and task["Message"] == "the task was aborted before it started"
    assert [r[next(k for k in r if k != "Type")]["ErrCodeExt"] for r in task["MediaProcessResultSet"]] == [
        "Cancelled", "Cancelled"]
    execution = get_execution(task_id)
    assert execution.state == "Cancel" and execution.started is None  # never ran, took no slot
    assert {get_job(j).State for j in execution.job_ids} == {"Cancel"}
    # Aborting again changes nothing; an unknown task, or another operation, is refused.
    assert "Error" not in call(serve, "ManageTask", {"OperationType": "Abort", "TaskId": task_id})
    unknown = call(serve, "ManageTask", {"OperationType": "Abort", "TaskId": "mediaflow-WorkflowTask-" + "0" * 32 + "t0"})
    assert unknown["Error"]["Code"] == "ResourceNotFound.TaskNotExist"
    assert call(serve, "ManageTask", {"OperationType": "Pause", "TaskId": task_id})["Error"]["Code"] == "InvalidParameterValue"
