"""JobsDetail and WorkflowExecution rendering: element names, order, time formats, XML/JSON."""

import json
from datetime import datetime, timedelta, timezone

import pytest
import xmltodict
from hypothesis import given, settings
from hypothesis import strategies as st
from mediaflow.control.templates import build_operation
from mediaflow.exceptions import InvalidInputError
from mediaflow.faces import xmlio
from mediaflow.models import Execution, Job, JobInput, NotifyConfig
from mediaflow.shapes.cos import (
    document,
    jobs_detail,
    render,
    workflow_execution,
    xml_text,
)
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


# ------------------------------------------------------------------ values XML 1.0 cannot carry
NOT_XML = "\x00\x01\x08\x0b\x0c\x0e\x1f\ufffe\uffff\ud800\udfff\r"
# Any text, the characters XML cannot carry (and lone surrogates) drawn often.
ANY_TEXT = st.text(st.one_of(st.characters(codec=None), st.sampled_from(NOT_XML + "<&>%\t\n\"' ]]>")), max_size=40)


def test_characters_xml_cannot_carry_are_percent_encoded() -> None:
    assert xml_text("sec/wf/clip\x01<&>.mp4") == "sec/wf/clip%01<&>.mp4"
    assert xml_text("a\x00b\x1fc\rd\ufffee\uffff") == "a%00b%1Fc%0Dd%EF%BF%BEe%EF%BF%BF"
    assert xml_text("lone\ud800") == "lone%ED%A0%80"
    assert xml_text("tab\tline\n%01 \u00e9\U0001f600") == "tab\tline\n%01 \u00e9\U0001f600"  # left as they are


def test_a_key_with_a_control_character_renders_well_formed_xml() -> None:
    job = make_job(Input=JobInput(BucketId="in-bucket", Object="sec/wf/clip\x01<&>.mp4", Region="us-east-1"))
    text = render({"JobsDetail": [jobs_detail(job)]})
    assert "\x01" not in text
    assert xmltodict.parse(text)["Response"]["JobsDetail"]["Input"]["Object"] == "sec/wf/clip%01<&>.mp4"


@settings(max_examples=150, deadline=None)
@given(key=ANY_TEXT, output=ANY_TEXT, message=ANY_TEXT, header=ANY_TEXT, name=ANY_TEXT)
def test_every_answer_parses_whatever_its_values_hold(key: str, output: str, message: str, header: str,
                                                      name: str) -> None:
    """Keys, output names, messages, object metadata and names with any characters at all: the
    job detail, the run and an error all parse, and each value reads back as `xml_text` wrote it."""
    job = make_job(Input=JobInput(BucketId="in-bucket", Object=key, Region="us-east-1",
                                  CosHeaders=[{"Key": "x-cos-meta-note", "Value": header}]),
                   Message=message, State="Failed", Code="InvalidMedia")
    job.Operation.Output.Object = output
    job.Workflow = job.Workflow.model_copy(update={"WorkflowName": name})  # type: ignore[union-attr]
    execution = Execution(id="i" + "c" * 32, queue_id="p" + "b" * 32, bucket="in-bucket", job_ids=[job.JobId],
                          created=CREATED, workflow_id="w" + "d" * 32, workflow_name=name, object=key)
    for fmt_root, content in (("Response", {"JobsDetail": [jobs_detail(job)]}),
                              ("Response", {"WorkflowExecution": workflow_execution(execution, [job])}),
                              ("Error", {"Code": "InvalidArgument", "Message": f"object {key} does not exist"})):
        parsed = xmltodict.parse(document(fmt_root, content), strip_whitespace=False)[fmt_root]
        if "JobsDetail" in parsed:
            detail = parsed["JobsDetail"]
            assert (detail["Input"]["Object"] or "") == xml_text(key)
            assert (detail["Operation"]["Output"]["Object"] or "") == xml_text(output)
            assert (detail["Message"] or "") == xml_text(message)
            assert (detail["Input"]["CosHeaders"]["Value"] or "") == xml_text(header)
        elif "WorkflowExecution" in parsed:
            run = parsed["WorkflowExecution"]
            assert (run["Object"] or "") == xml_text(key) and (run["WorkflowName"] or "") == xml_text(name)
        else:
            assert parsed["Message"] == xml_text(f"object {key} does not exist")


def test_an_error_naming_a_bad_key_is_well_formed() -> None:
    answer = xmlio.error(InvalidInputError("Input.Object: a\x01b does not exist"), "req-1")
    assert xmltodict.parse(answer.body)["Error"]["Message"] == "Input.Object: a%01b does not exist"


@pytest.mark.parametrize(("key", "name"), [("in/clip.MP4", "input.mp4"), ("in/clip.\x00mp4", "input"),
                                           ("in/clip\x01.mp4", "input.mp4"), ("in/a.b/c", "input"), ("in/x.m\u00e9", "input")])
def test_a_download_takes_the_key_extension_only_when_a_file_may_bear_it(monkeypatch, tmp_path, key, name) -> None:
    from mediaflow.persistence import storage

    written: list[str] = []
    client = type("S3", (), {"download_file": lambda self, bucket, key, path: written.append(path)})()
    monkeypatch.setattr(storage.aws, "client", lambda service: client)
    assert storage.download("b", key, tmp_path).name == name
    assert written == [str(tmp_path / name)]
