"""MPS schedules through the API function in-process: created Disabled, described, refused when their
graph cannot run, run by ProcessMedia's ScheduleId and (once enabled) by an upload, as ScheduleTasks
whose later activities take their predecessors' outputs; deleted once disabled."""

from __future__ import annotations

import json
import os

import boto3
import pytest
from mediaflow.control.jobs import get_execution, get_job
from mediaflow.pipeline import dispatch
from support import serve_bucket, tc3_event

pytestmark = pytest.mark.integration
BUCKET = "mps-schedule-media"
TRIGGER = {"Type": "CosFileUpload", "CosFileUploadTrigger": {"Bucket": BUCKET, "Region": "us-east-1", "Dir": "/in/"}}
TRANSCODE = {"ActivityType": "action-trans", "ActivityPara": {"TranscodeTask": {"Definition": 100010}}}
SNAPSHOT = {"ActivityType": "action-snapshotByTimeOffset",
            "ActivityPara": {"SnapshotByTimeOffsetTask": {"Definition": 10, "ExtTimeOffsetSet": ["1s"]}}}
SPRITE = {"ActivityType": "action-image-sprite", "ActivityPara": {"ImageSpriteTask": {"Definition": 10}}}
GRAPH = [{"ActivityType": "input", "ReardriveIndex": [1, 3]}, {**TRANSCODE, "ReardriveIndex": [2]},
         {**SNAPSHOT, "ReardriveIndex": [4]}, {**SPRITE, "ReardriveIndex": [4]}, {"ActivityType": "output"}]


def call(serve, action: str, params: dict) -> dict:
    answer = serve(tc3_event(action, params))
    assert answer["statusCode"] == 200, answer
    return json.loads(answer["body"])["Response"]


def test_a_schedule_runs_by_schedule_id_and_by_upload_once_enabled(serve) -> None:
    serve_bucket(BUCKET)
    boto3.client("s3").put_object(Bucket=BUCKET, Key="in/a.mp4", Body=b"x")
    schedule_id = call(serve, "CreateSchedule", {"ScheduleName": "flow", "Trigger": TRIGGER, "Activities": GRAPH})["ScheduleId"]
    info = call(serve, "DescribeSchedules", {"ScheduleIds": [schedule_id]})["ScheduleInfoSet"][0]
    assert (info["Status"], len(info["Activities"]), info["Trigger"]) == ("Disabled", 5, TRIGGER)
    assert call(serve, "DescribeWorkflows", {})["TotalCount"] == 0  # a schedule is not a workflow

    task_id = call(serve, "ProcessMedia", {"ScheduleId": schedule_id, "InputInfo": {
        "Type": "COS", "CosInputInfo": {"Bucket": BUCKET, "Region": "us-east-1", "Object": "/in/a.mp4"}}})["TaskId"]
    detail = call(serve, "DescribeTaskDetail", {"TaskId": task_id})
    assert detail["TaskType"] == "ScheduleTask" and detail["Status"] == "WAITING"
    assert {r["ActivityType"] for r in detail["ScheduleTask"]["ActivityResultSet"]} == {
        "action-trans", "action-snapshotByTimeOffset", "action-image-sprite"}
    jobs = {job.Workflow.Name: job for job in map(get_job, get_execution(task_id).job_ids)}
    assert jobs["Snapshot_activity2"].after == jobs["Transcode_activity1"].JobId  # the snapshot takes its output
    assert jobs["Snapshot_activity3"].after is None and jobs["Snapshot_activity3"].stage == 0

    record = {"eventName": "ObjectCreated:Put", "awsRegion": "us-east-1",
              "s3": {"bucket": {"name": BUCKET}, "object": {"key": "in/a.mp4", "sequencer": "01"}}}
    runs = lambda: dispatch.dispatch(dispatch.S3Event.model_validate({"Records": [record]}),  # noqa: E731
                                     media_queue_url=os.environ["MEDIA_QUEUE_URL"], output_bucket=os.environ["OUTPUT_BUCKET"])
    assert runs() == []  # disabled
    call(serve, "EnableSchedule", {"ScheduleId": schedule_id})
    (run,) = runs()
    assert call(serve, "DescribeTaskDetail", {"TaskId": run})["TaskType"] == "ScheduleTask"
    assert call(serve, "DeleteSchedule", {"ScheduleId": schedule_id})["Error"]["Code"] == "FailedOperation.InvalidStatus"
    call(serve, "DisableSchedule", {"ScheduleId": schedule_id})
    assert "Error" not in call(serve, "DeleteSchedule", {"ScheduleId": schedule_id})
    assert call(serve, "DescribeSchedules", {"ScheduleIds": [schedule_id]})["TotalCount"] == 0


@pytest.mark.parametrize(("activities", "message"), [
    ([{"ActivityType": "input", "ReardriveIndex": [1, 2]}, {**TRANSCODE, "ReardriveIndex": [3]},
      {**TRANSCODE, "ReardriveIndex": [3]}, {**SNAPSHOT, "ReardriveIndex": [4]}, {"ActivityType": "output"}],
     "Activities[3]: an action takes exactly one activity's output"),
    ([{"ActivityType": "input", "ReardriveIndex": [1]}, {"ActivityType": "action-AIAnalysis", "ReardriveIndex": [2]},
      {"ActivityType": "output"}], "Activities[1].ActivityType"),
    ([{"ActivityType": "input", "ReardriveIndex": [1]}, {**SNAPSHOT, "ReardriveIndex": [2]},
      {**TRANSCODE, "ReardriveIndex": [3]}, {"ActivityType": "output"}], "cannot follow"),
    ([{**TRANSCODE, "ReardriveIndex": [1]}, {"ActivityType": "output"}], "Activities[0]"),
    ([{"ActivityType": "input", "ReardriveIndex": [1]}, {"ActivityType": "action-trans", "ReardriveIndex": [2]},
      {"ActivityType": "output"}], "Activities[1].ActivityPara.TranscodeTask is required"),
])
def test_a_graph_that_cannot_run_is_refused(serve, activities: list, message: str) -> None:
    serve_bucket(BUCKET)
    refused = call(serve, "CreateSchedule", {"ScheduleName": "bad", "Trigger": TRIGGER, "Activities": activities})
    assert message in refused["Error"]["Message"], refused
