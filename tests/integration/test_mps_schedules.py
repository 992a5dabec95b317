"""MPS schedules through the API function in-process: created Disabled, described, refused when their
graph cannot run, run by ProcessMedia's ScheduleId and (once enabled) by an upload, as ScheduleTasks
whose later activities take their predecessors' outputs; deleted once disabled."""

from __future__ import annotations

import json
import os

import boto3
import pytest
from mediaflow.control.jobs import get_execution, get_job
from support import dispatched, serve_bucket, tc3_event

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
    runs = lambda: dispatched([record])  # noqa: E731
    assert runs() == []  # disabled
    call(serve, "EnableSchedule", {"ScheduleId": schedule_id})
    (run,) = runs()
    assert call(serve, "DescribeTaskDetail", {"TaskId": run})["TaskType"] == "ScheduleTask"
    assert call(serve, "DeleteSchedule", {"ScheduleId": schedule_id})["Error"]["Code"] == "FailedOperation.InvalidStatus"
    call(serve, "DisableSchedule", {"ScheduleId": schedule_id})
    assert "Error" not in call(serve, "DeleteSchedule", {"ScheduleId": schedule_id})
    assert call(serve, "DescribeSchedules", {"ScheduleIds": [schedule_id]})["TotalCount"] == 0


def upload_naming(key: str, schedule: str) -> dict:
    """An upload with the metadata that names a schedule, and its S3 event record."""
    boto3.client("s3").put_object(Bucket=BUCKET, Key=key, Body=b"x", Metadata={"mediaflow-schedule": schedule})
    return {"eventName": "ObjectCreated:Put", "awsRegion": "us-east-1",
            "s3": {"bucket": {"name": BUCKET}, "object": {"key": key, "sequencer": "02"}}}


def test_an_upload_naming_a_schedule_runs_it_and_an_unknown_name_fails_and_is_notified(serve) -> None:
    """x-amz-meta-mediaflow-schedule runs the schedule it names (by id or name) on the upload, outside
    the schedule's Dir and while it is disabled; a name that is no schedule gives a failed ScheduleTask,
    listed, kept in the inbox and sent to the bucket's queue callback; repeated events start nothing new."""
    from mediaflow.control import queues
    from mediaflow.notify.outbox import deliveries

    serve_bucket(BUCKET)
    schedule_id = call(serve, "CreateSchedule", {"ScheduleName": "by-upload", "Trigger": TRIGGER,
                                                 "Activities": GRAPH})["ScheduleId"]
    by_id, by_name = upload_naming("elsewhere/a.mp4", str(schedule_id)), upload_naming("elsewhere/b.mp4", "by-upload")
    runs = dispatched([by_id, by_name])
    assert len(set(runs)) == 2 and dispatched([by_id, by_name]) == runs  # a repeated event finds the same tasks
    for run in runs:
        detail = call(serve, "DescribeTaskDetail", {"TaskId": run})
        assert (detail["TaskType"], detail["Status"]) == ("ScheduleTask", "WAITING")
        assert len(detail["ScheduleTask"]["ActivityResultSet"]) == 3
    assert [job.Workflow.WorkflowId for job in map(get_job, get_execution(runs[0]).job_ids)] == [str(schedule_id)] * 3

    media = queues.ensure_queues(BUCKET)["media"]
    queues.update_queue(BUCKET, "media", media.QueueId, {"Name": media.Name, "State": "Active", "NotifyConfig": {
        "Url": "http://callback.example.com/cb", "Event": "TaskFinish"}}, queue_url=os.environ["MEDIA_QUEUE_URL"])
    unknown = upload_naming("elsewhere/c.mp4", "no-such-flow")
    (failed,) = dispatched([unknown])
    assert dispatched([unknown]) == [failed]
    detail = call(serve, "DescribeTaskDetail", {"TaskId": failed})
    task = detail["ScheduleTask"]
    assert (detail["Status"], task["Status"], task["ErrCode"], task["ActivityResultSet"]) == ("FINISH", "FINISH", 40000, [])
    assert task["Message"] == "mediaflow-schedule: no schedule has the ScheduleId or ScheduleName 'no-such-flow'"
    assert task["InputInfo"]["CosInputInfo"]["Object"] == "/elsewhere/c.mp4"
    assert failed in [t["TaskId"] for t in call(serve, "DescribeTasks", {"Status": "FINISH"})["TaskSet"]]
    ((delivery,),) = [deliveries(failed)]  # one notification, however often the event came
    assert delivery.Target == "http://callback.example.com/cb"
    kept = call(serve, "PullEvents", {"Bucket": BUCKET})["EventSet"]
    assert [e["ScheduleTaskEvent"]["TaskId"] for e in kept if e["EventType"] == "ScheduleTask"] == [failed]

    call(serve, "CreateSchedule", {"ScheduleName": "by-upload", "Trigger": TRIGGER, "Activities": GRAPH})
    (ambiguous,) = dispatched([upload_naming("elsewhere/d.mp4", "by-upload")])
    assert "2 schedules are named 'by-upload'" in call(serve, "DescribeTaskDetail", {"TaskId": ambiguous})[
        "ScheduleTask"]["Message"]


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


def test_modify_schedule_replaces_the_fields_given_and_keeps_the_others(serve) -> None:
    serve_bucket(BUCKET)
    schedule_id = call(serve, "CreateSchedule", {"ScheduleName": "to-modify", "Trigger": TRIGGER, "Activities": GRAPH,
                                                 "OutputDir": "/first/"})["ScheduleId"]
    shorter = [{"ActivityType": "input", "ReardriveIndex": [1]}, {**SPRITE, "ReardriveIndex": [2]},
               {"ActivityType": "output"}]
    assert "Error" not in call(serve, "ModifySchedule", {"ScheduleId": schedule_id, "ScheduleName": "modified",
                                                         "Activities": shorter})
    info = call(serve, "DescribeSchedules", {"ScheduleIds": [schedule_id]})["ScheduleInfoSet"][0]
    assert (info["ScheduleName"], len(info["Activities"]), info["OutputDir"], info["Trigger"]) == (
        "modified", 3, "/first/", TRIGGER)
    boto3.client("s3").put_object(Bucket=BUCKET, Key="in/m.mp4", Body=b"x")
    task_id = call(serve, "ProcessMedia", {"ScheduleId": schedule_id, "InputInfo": {
        "Type": "COS", "CosInputInfo": {"Bucket": BUCKET, "Region": "us-east-1", "Object": "/in/m.mp4"}}})["TaskId"]
    activities = call(serve, "DescribeTaskDetail", {"TaskId": task_id})["ScheduleTask"]["ActivityResultSet"]
    assert [a["ActivityType"] for a in activities] == ["action-image-sprite"]  # the graph as modified
    bad = call(serve, "ModifySchedule", {"ScheduleId": schedule_id, "Activities": [
        {"ActivityType": "input", "ReardriveIndex": [1]}, {"ActivityType": "action-trans", "ReardriveIndex": [2]},
        {"ActivityType": "output"}]})
    assert bad["Error"]["Code"] == "MissingParameter"
    assert call(serve, "DescribeSchedules", {"ScheduleIds": [schedule_id]})["ScheduleInfoSet"][0]["ScheduleName"] == "modified"
