"""Malformed but signed (or merely uploaded) input: keys XML cannot carry never break an XML answer,
and bodies too deep, too large or too many never give a 5xx nor leave anything half written."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote_plus

import boto3
import pytest
import xmltodict
from mediaflow.persistence import store
from mediaflow.shapes.cos import xml_text
from support import cos_event, dispatched, serve_bucket, tc3_event

pytestmark = pytest.mark.integration
BUCKET = "odd-bucket"
HOST = f"{BUCKET}.ci.us-east-1.myqcloud.com"
# What anyone who may upload can name an object: characters XML 1.0 cannot carry, and its metacharacters.
ODD_KEYS = ["in/wf/clip\x01<&>.mp4", "in/wf/\x00\x08\x0b\x0c\x0e\x1f\r.mp4", "in/wf/\ufffe\uffff]]>.mp4"]


def xml_body(request: dict[str, Any]) -> bytes:
    return xmltodict.unparse({"Request": request}).encode()


def snapshot() -> list[tuple[str, str, int]]:
    """Every record in the table, with its version: a refused request must change none."""
    return sorted((i["pk"], i["sk"], int(i.get("version", 0))) for i in store.table().scan()["Items"]
                  if not i["pk"].startswith("SIGNATURE#"))  # the signature's use is kept, nothing else


@pytest.fixture
def odd(serve, sample_video):
    serve_bucket(BUCKET)  # served for uploads: policy and events in place
    boto3.client("s3").upload_file(str(sample_video), BUCKET, "in/clip.mp4")
    return serve


def get_xml(serve, path: str) -> dict[str, Any]:
    """A GET answered 200 with a document that parses."""
    answer = serve(cos_event("GET", f"http://{HOST}{path}"))
    assert answer["statusCode"] == 200, answer["body"]
    return xmltodict.parse(answer["body"])["Response"]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# ------------------------------------------------------------------ keys XML cannot carry
def test_uploads_named_with_characters_xml_cannot_carry_leave_every_listing_well_formed(odd, sample_video) -> None:
    """An uploader without a key names objects in a watched prefix with control characters: the runs
    start (COS would run them too), and the job and run listings, the details and an error naming
    the key all parse, the key percent-encoded where XML cannot carry it."""
    workflow = {"MediaWorkflow": {"Name": "odd", "Topology": {
        "Dependencies": {"Start": "MediaInfo_1", "MediaInfo_1": "End"},
        "Nodes": {"Start": {"Type": "Start", "Input": {"ObjectPrefix": "in/wf/"}},
                  "MediaInfo_1": {"Type": "MediaInfo", "Operation": {}}}}}}
    created = odd(cos_event("POST", f"http://{HOST}/workflow", body=xml_body(workflow)))
    assert created["statusCode"] == 200, created["body"]
    workflow_id = xmltodict.parse(created["body"])["Response"]["MediaWorkflow"]["WorkflowId"]
    s3 = boto3.client("s3")
    records = []
    for key in ODD_KEYS:
        s3.upload_file(str(sample_video), BUCKET, key)
        records.append({"eventName": "ObjectCreated:Put", "awsRegion": "us-east-1",
                        "s3": {"bucket": {"name": BUCKET}, "object": {"key": quote_plus(key), "sequencer": "01"}}})
    runs = dispatched(records)
    assert len(runs) == len(ODD_KEYS)

    jobs = as_list(get_xml(odd, "/jobs?tag=MediaInfo&size=100")["JobsDetail"])
    assert sorted(j["Input"]["Object"] for j in jobs) == sorted(xml_text(k) for k in ODD_KEYS)
    ids = ",".join(j["JobId"] for j in jobs)
    assert len(as_list(get_xml(odd, f"/jobs/{ids}")["JobsDetail"])) == len(ODD_KEYS)
    listed = as_list(get_xml(odd, f"/workflowexecution?workflowId={workflow_id}")["WorkflowExecutionList"])
    assert sorted(r["Object"] for r in listed) == sorted(xml_text(k) for k in ODD_KEYS)
    for run_id in runs:
        run = get_xml(odd, f"/workflowexecution/{run_id}")["WorkflowExecution"]
        assert run["Object"] in {xml_text(k) for k in ODD_KEYS}
    # TriggerWorkflow on an object that is not there: the error names the key, and parses.
    missing = odd(cos_event("POST", f"http://{HOST}/triggerworkflow?workflowId={workflow_id}&object={quote_plus(ODD_KEYS[0] + 'x')}"))
    assert missing["statusCode"] == 400
    assert "%01" in xmltodict.parse(missing["body"])["Error"]["Message"]


def test_an_mps_output_path_with_a_control_character_leaves_the_job_listing_well_formed(odd) -> None:
    """The review's reproduction: ProcessMedia with OutputObjectPath "/sec-out/a\\u0001b<x>&-${Number}"."""
    body = {"InputInfo": {"Type": "COS", "CosInputInfo": {"Bucket": BUCKET, "Region": "us-east-1", "Object": "/in/clip.mp4"}},
            "MediaProcessTask": {"SnapshotByTimeOffsetTaskSet": [
                {"Definition": 10, "ExtTimeOffsetSet": ["1s"], "OutputObjectPath": "/sec-out/a\u0001b<x>&-{number}"}]}}
    answer = odd(tc3_event("ProcessMedia", body))
    assert answer["statusCode"] == 200 and "TaskId" in answer["body"], answer["body"]
    detail = get_xml(odd, "/jobs?tag=Snapshot&size=3")["JobsDetail"]
    assert detail["Operation"]["Output"]["Object"] == "sec-out/a%01b<x>&-${Number}"


# ------------------------------------------------------------------ MPS bodies
PROCESS_MEDIA = {"InputInfo": {"Type": "COS", "CosInputInfo": {"Bucket": BUCKET, "Region": "us-east-1", "Object": "/in/clip.mp4"}},
                 "MediaProcessTask": {"SnapshotByTimeOffsetTaskSet": [{"Definition": 10, "ExtTimeOffsetSet": ["1s"]}]},
                 "TaskNotifyConfig": {"NotifyType": "URL", "NotifyUrl": "http://127.0.0.1:9/cb"}}


def mps_refused(serve, action: str, params: dict[str, Any] | None = None, *, raw: str | None = None) -> dict[str, Any]:
    """The Error of an MPS answer to a refused request (HTTP 200, as TencentCloud API 3.0 answers
    request errors), after checking that nothing was written."""
    before = snapshot()
    answer = serve(tc3_event(action, params or {}, raw=raw))
    assert answer["statusCode"] == 200, answer["body"]
    error = json.loads(answer["body"])["Response"].get("Error")
    assert error, answer["body"]
    assert snapshot() == before
    return error


@pytest.mark.parametrize("action", ["DescribeTasks", "ProcessMedia", "PullEvents"])
def test_json_nested_100000_deep_is_invalid_parameter_not_an_internal_error(odd, action) -> None:
    deep = '{"Limit": 1, "x": ' + "[" * 100_000 + "]" * 100_000 + "}"
    error = mps_refused(odd, action, raw=deep)
    assert error["Code"] == "InvalidParameter" and "16 deep" in error["Message"]


def test_a_60_deep_extra_object_and_a_lone_surrogate_are_refused(odd) -> None:
    nested: dict[str, Any] = {}
    cursor = nested
    for _ in range(60):
        cursor["k"] = {}
        cursor = cursor["k"]
    body = {**PROCESS_MEDIA, "TaskNotifyConfig": {**PROCESS_MEDIA["TaskNotifyConfig"], "Extra": nested}}
    assert mps_refused(odd, "ProcessMedia", body)["Code"] == "InvalidParameter"
    surrogate = json.dumps(PROCESS_MEDIA).replace("/in/clip.mp4", "/in/clip\\ud800.mp4")
    error = mps_refused(odd, "ProcessMedia", raw=surrogate)
    assert error["Code"] == "InvalidParameter" and "surrogate" in error["Message"]


def test_a_500_kb_field_in_task_notify_config_is_refused_before_any_job_is_written(odd) -> None:
    """The review's finding 9: the body was stored as given, the execution was too large for the table
    after its jobs were written, and the jobs stayed Submitted for good."""
    body = {**PROCESS_MEDIA, "TaskNotifyConfig": {**PROCESS_MEDIA["TaskNotifyConfig"], "Extra": "z" * 500_000}}
    error = mps_refused(odd, "ProcessMedia", body)
    assert error["Code"] == "InvalidParameter" and "bytes" in error["Message"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda b: b["TaskNotifyConfig"].update(NotifyUrl="http://127.0.0.1:9/" + "a" * 3000), "TaskNotifyConfig.NotifyUrl"),
        (lambda b: b.update(SessionContext="c" * 1001), "SessionContext"),
        (lambda b: b.update(SessionId="s" * 51), "SessionId"),
        (lambda b: b["MediaProcessTask"]["SnapshotByTimeOffsetTaskSet"][0].update(ExtTimeOffsetSet=["1" * 100 + "s"]),
         "MediaProcessTask.SnapshotByTimeOffsetTaskSet[0].ExtTimeOffsetSet[0]"),
        (lambda b: b["MediaProcessTask"]["SnapshotByTimeOffsetTaskSet"][0].update(OutputObjectPath="/" + "o" * 2000),
         "MediaProcessTask.SnapshotByTimeOffsetTaskSet[0].OutputObjectPath"),
        (lambda b: b["InputInfo"]["CosInputInfo"].update(Region="r" * 5000), "InputInfo.CosInputInfo.Region"),
    ],
)
def test_free_form_fields_over_their_bounds_are_refused_naming_the_field(odd, change, field) -> None:
    body = json.loads(json.dumps(PROCESS_MEDIA))
    change(body)
    error = mps_refused(odd, "ProcessMedia", body)
    assert error["Code"] == "InvalidParameterValue" and error["Message"].startswith(field + ":"), error


def test_fields_the_service_does_not_know_are_never_stored(odd) -> None:
    body = json.loads(json.dumps(PROCESS_MEDIA))
    body["TaskNotifyConfig"]["Extra"] = "z" * 100_000  # within the body's bound: accepted, and dropped
    body["InputInfo"]["CosInputInfo"]["Junk"] = {"a": [1, 2, 3]}
    body["MediaProcessTask"]["SnapshotByTimeOffsetTaskSet"][0]["Unknown"] = "u"
    answer = odd(tc3_event("ProcessMedia", body))
    task_id = json.loads(answer["body"])["Response"]["TaskId"]
    detail = json.loads(odd(tc3_event("DescribeTaskDetail", {"TaskId": task_id}))["body"])["Response"]
    assert detail["TaskNotifyConfig"]["NotifyUrl"] == "http://127.0.0.1:9/cb" and "Extra" not in detail["TaskNotifyConfig"]
    assert "Junk" not in detail["WorkflowTask"]["InputInfo"]["CosInputInfo"]
    stored = " ".join(i["doc"] for i in store.table().scan()["Items"] if i["pk"].startswith(("EXEC#", "JOB#")))
    assert "zzzz" not in stored and "Junk" not in stored and "Unknown" not in stored


def test_a_task_whose_queueing_fails_leaves_no_job_behind(odd, monkeypatch) -> None:
    """Should the last write fail after every check passed, the jobs written go with it: none stays
    Submitted with nothing to run it, and the SessionId may be used again."""
    from mediaflow.faces.mps import tasks

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("the table is unavailable")

    before = snapshot()
    with monkeypatch.context() as patch:
        patch.setattr(tasks, "enqueue", broken)
        answer = odd(tc3_event("ProcessMedia", {**PROCESS_MEDIA, "SessionId": "once"}))
    assert answer["statusCode"] == 500
    assert [r for r in snapshot() if r[0].startswith(("JOB#", "EXEC#", "SESSION#"))] == \
           [r for r in before if r[0].startswith(("JOB#", "EXEC#", "SESSION#"))]
    answer = odd(tc3_event("ProcessMedia", {**PROCESS_MEDIA, "SessionId": "once"}))
    task_id = json.loads(answer["body"])["Response"]["TaskId"]
    detail = json.loads(odd(tc3_event("DescribeTaskDetail", {"TaskId": task_id}))["body"])["Response"]
    assert detail["Status"] == "WAITING" and len(detail["WorkflowTask"]["MediaProcessResultSet"]) == 1


# ------------------------------------------------------------------ COS bodies and lists
MP4_SD = "t04e1ab86554984f1aa17c062fbf6c007c"
JOBS = {"Tag": "Transcode", "Input": {"Object": "in/clip.mp4"},
        "Operation": {"TemplateId": MP4_SD, "Output": {"Object": "out/${Jobid}.${ext}"}}}
WORKFLOW = {"MediaWorkflow": {"Name": "bounded", "Topology": {
    "Dependencies": {"Start": "Transcode_1", "Transcode_1": "End"},
    "Nodes": {"Start": {"Type": "Start", "Input": {"ObjectPrefix": "in/"}},
              "Transcode_1": {"Type": "Transcode", "Operation": {"TemplateId": MP4_SD, "Output": {"Object": "o.${ext}"}}}}}}}


def cos_refused(serve, method: str, path: str, body: dict[str, Any] | bytes | None = None) -> str:
    """The Message of a 400 answer, after checking that nothing was written."""
    before = snapshot()
    data = body if isinstance(body, bytes) else xml_body(body) if body is not None else b""
    answer = serve(cos_event(method, f"http://{HOST}{path}", body=data))
    assert answer["statusCode"] == 400, answer["body"]
    assert snapshot() == before
    return xmltodict.parse(answer["body"])["Error"]["Message"]


def test_describing_more_than_50_jobs_at_once_is_refused(odd) -> None:
    ids = [f"j{i:032x}" for i in range(51)]
    assert "at most 50" in cos_refused(odd, "GET", "/jobs/" + ",".join(ids))
    listed = get_xml(odd, "/jobs/" + ",".join(ids[:50]))
    assert len(listed["NonExistJobIds"]) == 50


def test_an_xml_body_over_128_kib_is_refused_before_it_is_parsed(odd) -> None:
    body = {**JOBS, "Operation": {**JOBS["Operation"], "Junk": "z" * 140_000}}
    assert "at most 131072" in cos_refused(odd, "POST", "/jobs", body)


def _deep_update(body: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    copy = json.loads(json.dumps(body))
    *parents, last = path.split(".")
    cursor = copy
    for name in parents:
        cursor = cursor.setdefault(name, {})
    cursor[last] = value
    return copy


@pytest.mark.parametrize(
    ("method", "path", "body", "message"),
    [
        ("POST", "/jobs", _deep_update(JOBS, "CallBack", "http://127.0.0.1:9/" + "a" * 3000), "CallBack"),
        ("POST", "/jobs", _deep_update(JOBS, "CallBackType", "TDMQ") | {"CallBackMqConfig": {"MqName": "q" * 300}},
         "CallBackMqConfig.MqName"),
        ("POST", "/jobs", _deep_update(JOBS, "Operation.Output.Object", "o" * 2000 + "${ext}"), "Output.Object"),
        ("POST", "/jobs", _deep_update(JOBS, "Input.Object", "i" * 2000), "Input.Object"),
        ("POST", "/workflow", _deep_update(WORKFLOW, "MediaWorkflow.Topology.Nodes.Start.Input.ObjectPrefix", "p" * 2000),
         "ObjectPrefix"),
        ("PUT", "/queue/QUEUE", {"Name": "queue-1", "State": "Active",
                                 "NotifyConfig": {"State": "On", "Type": "Url", "Url": "http://x/" + "u" * 3000}},
         "NotifyConfig.Url"),
        ("POST", "/template", {"Tag": "Watermark", "Name": "w", "Watermark": {
            "Type": "Image", "Image": {"Url": "i" * 3000}}}, "Url"),
    ],
)
def test_free_form_xml_fields_over_their_bounds_are_refused(odd, method, path, body, message) -> None:
    if "QUEUE" in path:
        queue_id = get_xml(odd, "/queue")["QueueList"]["QueueId"]
        path = path.replace("QUEUE", queue_id)
    text = cos_refused(odd, method, path, body)
    assert message in text and "at most" in text, text


def test_jobs_whose_queueing_fails_half_way_are_taken_back(odd, monkeypatch) -> None:
    """Two operations, the second's queueing fails: the first is cancelled, the second's job removed;
    none stays Submitted with nothing to run it."""
    from mediaflow.control import submit

    real, calls = submit.enqueue, []

    def second_fails(execution: Any, **listing: Any) -> bool:
        calls.append(execution.id)
        if len(calls) == 2:
            raise RuntimeError("the table is unavailable")
        return real(execution, **listing)

    with monkeypatch.context() as patch:
        patch.setattr(submit, "enqueue", second_fails)
        answer = odd(cos_event("POST", f"http://{HOST}/jobs",
                               body=xml_body({**JOBS, "Operation": [JOBS["Operation"], JOBS["Operation"]]})))
    assert answer["statusCode"] == 500
    jobs = as_list(get_xml(odd, "/jobs?tag=Transcode&size=10").get("JobsDetail") or [])
    assert [(j["JobId"], j["State"]) for j in jobs] == [(calls[0], "Cancel")]


def test_cancelling_a_job_that_was_never_queued_names_no_internal_key(odd) -> None:
    from mediaflow.control.jobs import put_job
    from mediaflow.models import Job
    from mediaflow.times import now

    put_job(Job.model_validate({"JobId": "j" + "0" * 32, "Tag": "Transcode", "CreationTime": now(), "QueueId": "p",
                                "Input": {"BucketId": BUCKET, "Object": "in/clip.mp4", "Region": "us-east-1"},
                                "Operation": {"Output": {"Object": "o"}}, "execution_id": "j" + "0" * 32}))
    answer = odd(cos_event("PUT", f"http://{HOST}/jobs/j{'0' * 32}?cancel"))
    assert answer["statusCode"] == 404 and "EXEC#" not in answer["body"], answer["body"]


def test_a_record_too_large_for_a_table_item_is_refused_before_it_is_written(stack) -> None:
    from mediaflow.exceptions import InvalidInputError
    from mediaflow.faces.mps.tasks import Session

    with pytest.raises(InvalidInputError, match=f"at most {store.MAX_DOC_BYTES} fit"):
        store.put_new("SESSION#big", "SESSION", Session(SessionId="big", TaskId="t" * 400_000))
    assert store.get("SESSION#big", "SESSION", Session) is None
