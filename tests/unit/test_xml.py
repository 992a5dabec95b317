"""JobsDetail and WorkflowExecution rendering: element names, order, time formats, XML/JSON."""

import json
from datetime import datetime, timedelta, timezone

import pytest
import xmltodict
from mediaflow.control.templates import build_operation
from mediaflow.models import Execution, Job, NotifyConfig
from mediaflow.shapes.cos import jobs_detail, render, workflow_execution
from mediaflow.times import CI_FORMAT

pytestmark = pytest.mark.unit

CREATED = datetime(2022, 6, 27, 15, 23, 12, tzinfo=timezone(timedelta(hours=8)))


def make_job(**changes: object) -> Job:
    operation = build_operation(
        "Transcode", {"TemplateId": "t04e1ab86554984f1aa17c062fbf6c007c", "Output": {"Object": "out/${InputName}.${ext}"}},
        default_bucket="out-bucket", default_region="us-east-1",
    )
    job = Job(
        JobId="j" + "a" * 32, Tag="Transcode", CreationTime=CREATED, QueueId="p" + "b" * 32,
        Input={"BucketId": "in-bucket", "Object": "in/demo.mp4", "Region": "us-east-1",
               "CosHeaders": [{"Key": "Content-Type", "Value": "video/mp4"}]},
        Operation=operation, execution_id="i" + "c" * 32,
        Workflow={"RunId": "i" + "c" * 32, "WorkflowId": "w" + "d" * 32, "WorkflowName": "wf", "Name": "Transcode_1"},
    )
    return job.model_copy(update=changes)


def test_jobs_detail_round_trips_through_xmltodict() -> None:
    job = make_job(State="Success", Progress=100, StartTime=CREATED, EndTime=CREATED + timedelta(seconds=9))
    job.Operation.MediaResult = {"OutputFile": {"Bucket": "out-bucket", "Region": "us-east-1", "ObjectPrefix": "",
                                                "ObjectName": ["out/demo.mp4"],
                                                "Md5Info": [{"Md5": "3df1", "ObjectName": "out/demo.mp4"}]}}
    text = render({"EventName": "TaskFinish", "JobsDetail": jobs_detail(job)})
    parsed = xmltodict.parse(text)["Response"]
    assert parsed["EventName"] == "TaskFinish"
    detail = parsed["JobsDetail"]
    assert list(detail)[:10] == ["Code", "Message", "JobId", "Tag", "State", "Progress", "CreationTime", "StartTime",
                                 "EndTime", "QueueId"]
    assert detail["JobId"] == job.JobId and detail["State"] == "Success" and detail["Progress"] == "100"
    assert detail["CreationTime"] == "2022-06-27T15:23:12+0800"
    for field in ("CreationTime", "StartTime", "EndTime"):
        datetime.strptime(detail[field], CI_FORMAT)  # every time parses with the CI format
    assert detail["Input"]["CosHeaders"] == {"Key": "Content-Type", "Value": "video/mp4"}
    operation = detail["Operation"]
    assert operation["TemplateId"] == "t04e1ab86554984f1aa17c062fbf6c007c"
    assert operation["TemplateName"] == "MP4-SD"
    assert "Transcode" not in operation  # a template's parameters are not echoed
    assert operation["Output"] == {"Region": "us-east-1", "Bucket": "out-bucket", "Object": "out/${InputName}.${ext}"}
    assert operation["MediaResult"]["OutputFile"]["Md5Info"]["Md5"] == "3df1"
    assert detail["Workflow"]["Name"] == "Transcode_1"


def test_unset_times_are_dashes_and_failure_carries_code_and_message() -> None:
    job = make_job(State="Failed", Code="InvalidMedia", Message="Invalid data found when processing input")
    detail = xmltodict.parse(render({"JobsDetail": jobs_detail(job)}))["Response"]["JobsDetail"]
    assert detail["StartTime"] == "-" and detail["EndTime"] == "-"
    assert detail["Code"] == "InvalidMedia"
    assert detail["Message"] == "Invalid data found when processing input"


def test_cos_headers_only_for_workflow_jobs() -> None:
    detail = jobs_detail(make_job(Workflow=None))
    assert "CosHeaders" not in detail["Input"] and "Workflow" not in detail


def test_json_variant() -> None:
    text = render({"EventName": "TaskFinish", "JobsDetail": jobs_detail(make_job())}, "JSON")
    body = json.loads(text)
    assert body["EventName"] == "TaskFinish"
    assert body["JobsDetail"]["JobId"] == "j" + "a" * 32
    assert body["JobsDetail"]["Operation"]["JobLevel"] == 0


def test_workflow_execution_lists_every_task() -> None:
    jobs = [make_job(State="Success"), make_job(JobId="j" + "e" * 32, Tag="Snapshot", State="Failed", Code="InvalidMedia")]
    execution = Execution(id="i" + "c" * 32, queue_id="p" + "b" * 32, bucket="in-bucket", job_ids=[j.JobId for j in jobs],
                          created=CREATED, state="Failed", workflow_id="w" + "d" * 32, workflow_name="wf",
                          object="in/demo.mp4", notify=NotifyConfig(Url="http://cb"))
    parsed = xmltodict.parse(render({"EventName": "WorkflowFinish", "WorkflowExecution": workflow_execution(execution, jobs)}))
    run = parsed["Response"]["WorkflowExecution"]
    assert run["RunId"] == execution.id and run["State"] == "Failed" and run["WorkflowName"] == "wf"
    assert [t["State"] for t in run["Tasks"]] == ["Success", "Failed"]
    assert run["Tasks"][1]["Type"] == "Snapshot" and run["Tasks"][1]["Code"] == "InvalidMedia"
