"""An MPS CreateWorkflow request planned into a workflow record of the one engine: its trigger as the
Start node's filter, its subtasks as parallel nodes planned as ProcessMedia plans them, and what makes
each run an MPS task kept beside (`faces/mps/workflows.py`)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from mediaflow.control.workflows import Workflow
from mediaflow.exceptions import InvalidInputError
from mediaflow.faces.mps.wire import CreateWorkflowRequest, parse
from mediaflow.faces.mps.workflows import _planned

pytestmark = pytest.mark.unit
NOW = datetime(2026, 12, 5, tzinfo=timezone.utc)


def request(**changes: object) -> CreateWorkflowRequest:
    body = {
        "WorkflowName": "flow",
        "Trigger": {"Type": "AWS-S3", "AwsS3FileUploadTrigger": {
            "S3Bucket": "media-in", "S3Region": "us-east-1", "Dir": "/in/", "Formats": ["MP4", ".mov"],
            "S3SecretId": "AKIA-secret-id", "S3SecretKey": "secret-key"}},
        "MediaProcessTask": {"TranscodeTaskSet": [{"Definition": 100010}],
                             "SnapshotByTimeOffsetTaskSet": [{"Definition": 10, "ExtTimeOffsetSet": ["1s"]}]},
        "TaskNotifyConfig": {"NotifyType": "URL", "NotifyUrl": "https://example.com/cb", "NotifyKey": "signing"},
        "TaskPriority": 4,
    } | changes
    return parse(CreateWorkflowRequest, body)


def record(spec: dict, flow: object) -> Workflow:
    return Workflow.model_validate({**spec, "State": "Active", "WorkflowId": "1234567890", "BucketId": "media-in",
                                    "CreateTime": NOW, "UpdateTime": NOW, "Mps": flow})


def test_the_trigger_filters_uploads_by_dir_and_format() -> None:
    bucket, spec, flow = _planned(request())
    workflow = record(spec, flow)
    assert bucket == "media-in" and flow.InputType == "AWS-S3" and flow.Priority == 4
    assert [workflow.matches(k) for k in ("in/a.mp4", "in/deep/b.MOV", "in/c.mkv", "out/a.mp4", "a.mp4")] == [
        True, True, False, False, False]
    every_file = record(*_planned(request(Trigger={"Type": "CosFileUpload", "CosFileUploadTrigger": {
        "Bucket": "media-in", "Region": "us-east-1"}}))[1:])
    assert every_file.matches("anything/at/all.bin") and every_file.Mps.InputType == "COS"


def test_subtasks_become_parallel_nodes_writing_under_the_input_directory_by_default() -> None:
    _, spec, flow = _planned(request())
    topology = spec["Topology"]
    names = topology["Dependencies"]["Start"].split(",")
    assert names == ["Transcode_Transcode0", "Snapshot_SnapshotByTimeOffset0"]
    assert all(topology["Dependencies"][name] == "End" for name in names)
    assert [flow.Refs[name].Type for name in names] == ["Transcode", "SnapshotByTimeOffset"]
    assert topology["Nodes"]["Transcode_Transcode0"]["Operation"]["Output"]["Object"].startswith("${InputPath}/${InputName}")
    _, spec, _ = _planned(request(OutputDir="/out/"))
    assert spec["Topology"]["Nodes"]["Transcode_Transcode0"]["Operation"]["Output"]["Object"].startswith("out/${InputName}")


def test_secrets_are_never_kept_and_the_run_is_an_mps_task() -> None:
    _, _, flow = _planned(request())
    kept = flow.model_dump_json()
    assert "secret" not in kept.lower().replace("notifykey", "") and "signing" not in str(flow.Request)
    assert flow.NotifyKey == "signing" and flow.Notify.Url == "https://example.com/cb"
    task = flow.task("mediaflow-WorkflowTask-" + "0" * 32 + "t0", "media-in", "in/a.mp4",
                     {"Transcode_Transcode0": "j1", "Snapshot_SnapshotByTimeOffset0": "j2"})
    assert task["InputInfo"] == {"Type": "AWS-S3", "S3InputInfo": {"S3Bucket": "media-in", "S3Region": "us-east-1",
                                                                   "S3Object": "/in/a.mp4"}}
    assert set(task["Subtasks"]) == {"j1", "j2"} and task["TasksPriority"] == 4


@pytest.mark.parametrize(("changes", "code", "where"), [
    ({"Trigger": {"Type": "AWS-S3"}}, "MissingParameter", "Trigger.AwsS3FileUploadTrigger"),
    ({"AiAnalysisTask": {"Definition": 10}}, "InvalidParameterValue", "AiAnalysisTask"),
    ({"MediaProcessTask": {}}, "MissingParameter", "MediaProcessTask"),
    ({"MediaProcessTask": {"TranscodeTaskSet": [{"Definition": 7}]}}, "InvalidParameterValue",
     "MediaProcessTask.TranscodeTaskSet[0].Definition"),
])
def test_a_workflow_that_could_not_run_is_refused(changes: dict, code: str, where: str) -> None:
    with pytest.raises(InvalidInputError) as refused:
        _planned(request(**changes))
    assert refused.value.code == code and refused.value.message.startswith(where)


def test_dir_must_be_a_directory() -> None:
    with pytest.raises(InvalidInputError, match="Trigger.AwsS3FileUploadTrigger.Dir"):
        request(Trigger={"Type": "AWS-S3", "AwsS3FileUploadTrigger": {"S3Bucket": "b", "S3Region": "r", "Dir": "in"}})
