"""What the API refuses, it refuses cleanly: unsigned, wrongly signed, expired and tampered requests
get 403 and write nothing; random and mutated bodies never give a 5xx, and a refused one writes nothing."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import time
from typing import Any

import boto3
import pytest
import xmltodict
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mediaflow.exceptions import AccessDeniedError
from mediaflow.persistence import store
from support import MP4_SD, cos_event, tc3_event

pytestmark = pytest.mark.integration
HOST = "guard-bucket.ci.us-east-1.myqcloud.com"
BUCKET = "guard-bucket"
TEMPLATE = {"Tag": "Transcode", "Name": "guard", "Container": {"Format": "mp4"}, "Video": {"Codec": "H.264", "Width": "320"}}
JOBS = {"Tag": "Transcode", "Input": {"Object": "in/clip.mp4"},
        "Operation": {"TemplateId": MP4_SD, "Output": {"Object": "out/${Jobid}.${ext}"}, "JobLevel": "1"}}
WORKFLOW = {"MediaWorkflow": {"Name": "guard", "Topology": {
    "Dependencies": {"Start": "Transcode_1", "Transcode_1": "End"},
    "Nodes": {"Start": {"Type": "Start", "Input": {"ObjectPrefix": "in/"}},
              "Transcode_1": {"Type": "Transcode", "Operation": {"TemplateId": MP4_SD, "Output": {"Object": "o.${ext}"}}}}}}}
PROCESS_MEDIA = {"InputInfo": {"Type": "COS", "CosInputInfo": {"Bucket": BUCKET, "Region": "us-east-1", "Object": "/in/clip.mp4"}},
                 "MediaProcessTask": {"TranscodeTaskSet": [{"Definition": 100010}]}, "TasksPriority": 1}


def xml_body(request: dict[str, Any]) -> bytes:
    return xmltodict.unparse({"Request": request}).encode()


def snapshot() -> list[tuple[str, str, int]]:
    """Every record in the table, with its version: a refused request must change none. (The record of
    a signature accepted once is no state: it only stops that signature from being used again.)"""
    items = store.table().scan()["Items"]
    return sorted((i["pk"], i["sk"], int(i.get("version", 0))) for i in items if not i["pk"].startswith("SIGNATURE#"))


@pytest.fixture
def guarded(serve, sample_video):
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.upload_file(str(sample_video), BUCKET, "in/clip.mp4")
    activated = serve(cos_event("POST", f"http://{HOST}/mediabucket"))
    assert activated["statusCode"] == 200, activated["body"]
    return serve


# ------------------------------------------------------------------ signatures
def test_a_signed_request_is_served(guarded) -> None:
    answer = guarded(cos_event("POST", f"http://{HOST}/template", body=xml_body(TEMPLATE)))
    assert answer["statusCode"] == 200, answer["body"]


def expired_event() -> dict[str, Any]:
    real = time.time
    try:  # signed three hours ago with the SDK's default lifetime (10000 s)... and more
        time.time = lambda: real() - 20000  # type: ignore[assignment]
        return cos_event("POST", f"http://{HOST}/template", body=xml_body(TEMPLATE))
    finally:
        time.time = real  # type: ignore[assignment]


def replayed_with(body: bytes, **headers: str) -> dict[str, Any]:
    event = cos_event("POST", f"http://{HOST}/template", body=xml_body(TEMPLATE), headers=headers or None)
    event["body"], event["isBase64Encoded"] = base64.b64encode(body).decode(), True
    return event


def with_header(event: dict[str, Any], name: str, value: str) -> dict[str, Any]:
    return {**event, "headers": {**event["headers"], name: value}}


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda: cos_event("POST", f"http://{HOST}/template", body=xml_body(TEMPLATE), sign=False), id="unsigned"),
        pytest.param(lambda: cos_event("POST", f"http://{HOST}/template", body=xml_body(TEMPLATE), secret="wrong"), id="wrong-key"),
        pytest.param(expired_event, id="expired"),
        pytest.param(lambda: replayed_with(xml_body({**TEMPLATE, "Name": "guard-changed-name"})), id="replayed-longer-body"),
        pytest.param(lambda: replayed_with(xml_body({**TEMPLATE, "Name": "drauG"}),
                                           **{"Content-MD5": base64.b64encode(hashlib.md5(xml_body(TEMPLATE)).digest()).decode()}),
                     id="replayed-same-length-body-md5-signed"),
        pytest.param(lambda: tc3_event("DescribeTasks", {}, secret="wrong"), id="json-wrong-key"),
        pytest.param(lambda: tc3_event("ProcessMedia", PROCESS_MEDIA, tamper=b' {"TasksPriority": 10}'), id="json-changed-body"),
        pytest.param(lambda: with_header(tc3_event("DescribeTasks", {}), "x-tc-timestamp", "9" * 5000), id="json-huge-timestamp"),
    ],
)
def test_unsigned_wrong_expired_or_tampered_requests_get_403_and_write_nothing(guarded, make) -> None:
    before = snapshot()
    answer = guarded(make())
    assert answer["statusCode"] == 403, answer["body"]
    text = answer["body"]
    assert "AccessDenied" in text or "AuthFailure.SignatureFailure" in text
    assert snapshot() == before


# ------------------------------------------------------------------ random and mutated bodies
def leaves(value: Any, path: tuple = ()) -> list[tuple]:
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in leaves(v, (*path, k))] + [path]
    return [path]


@st.composite
def mutated(draw: st.DrawFn, valid: dict[str, Any]) -> dict[str, Any]:
    """A valid body with a few of its elements replaced, dropped or joined by strangers."""
    body = copy.deepcopy(valid)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(leaves(body)))
        parent = body
        for key in path[:-1]:
            parent = parent[key] if isinstance(parent, dict) else {}
        if not path or not isinstance(parent, dict):
            continue
        action = draw(st.sampled_from(["replace", "drop", "add", "nest"]))
        if action == "replace":
            parent[path[-1]] = draw(st.one_of(st.text(max_size=20), st.integers(-10**12, 10**12).map(str),
                                              st.sampled_from(["", "-1", "1e309", "NaN", "${Number}", "../../etc/passwd"])))
        elif action == "drop":
            parent.pop(path[-1], None)
        elif action == "add":
            parent[draw(st.from_regex(r"[A-Z][a-zA-Z]{0,8}", fullmatch=True))] = draw(st.text(max_size=10))
        else:
            parent[path[-1]] = {"Nested": draw(st.text(max_size=10))}
    return body


XML_TARGETS = [("POST", "/jobs", JOBS), ("POST", "/template", TEMPLATE), ("POST", "/workflow", WORKFLOW)]


def check(serve: Any, event: dict[str, Any]) -> None:
    before = snapshot()
    answer = serve(event)
    assert answer["statusCode"] < 500, answer["body"]
    if answer["statusCode"] >= 400:
        assert snapshot() == before, answer["body"]


QUICK = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@QUICK
@given(target=st.sampled_from(XML_TARGETS), data=st.data())
def test_mutated_xml_bodies_never_5xx_and_refusals_write_nothing(guarded, target, data) -> None:
    method, path, valid = target
    body = data.draw(mutated(valid))
    try:
        encoded = xml_body(body)
    except ValueError:  # a name that is not an XML name cannot be sent as XML at all
        return
    check(guarded, cos_event(method, f"http://{HOST}{path}", body=encoded))


@QUICK
@given(path=st.sampled_from(["/jobs", "/template", "/workflow", "/queue/p" + "0" * 32, "/jobs/j1?cancel"]),
       body=st.one_of(st.binary(max_size=200), st.text(max_size=200).map(str.encode),
                      st.builds(lambda t: f"<Request>{t}</Request>".encode(), st.text(max_size=50))))
def test_random_bodies_never_5xx_and_write_nothing(guarded, path, body) -> None:
    method = "PUT" if path.startswith(("/queue", "/jobs/")) else "POST"
    before = snapshot()
    answer = guarded(cos_event(method, f"http://{HOST}{path}", body=body))
    assert 400 <= answer["statusCode"] < 500, answer["body"]
    assert snapshot() == before


@QUICK
@given(body=mutated(PROCESS_MEDIA), action=st.sampled_from(["ProcessMedia", "DescribeTaskDetail", "DescribeTasks"]))
def test_mutated_json_bodies_never_5xx(guarded, body, action) -> None:
    before = snapshot()
    answer = guarded(tc3_event(action, body))
    assert answer["statusCode"] < 500, answer["body"]
    if "Error" in json.loads(answer["body"])["Response"]:
        assert snapshot() == before, answer["body"]


# ------------------------------------------------------------------ query parameters
def sent_as(signed: dict[str, Any], target: str) -> dict[str, Any]:
    """The signed request's headers and body sent to another target (the query changed after signing)."""
    from mediaflow.local.front import http_api_event

    body = signed.get("body") or ""
    body = base64.b64decode(body) if signed.get("isBase64Encoded") else body.encode()
    return http_api_event(signed["requestContext"]["http"]["method"], target, list(signed["headers"].items()), body,
                          source_ip="203.0.113.10")


def template_ids(answer: dict[str, Any]) -> list[str]:
    assert answer["statusCode"] == 200, answer["body"]
    listed = xmltodict.parse(answer["body"])["Response"].get("TemplateList") or []
    return [t["TemplateId"] for t in (listed if isinstance(listed, list) else [listed])]


def error_of(answer: dict[str, Any]) -> dict[str, str]:
    return xmltodict.parse(answer["body"])["Error"]


OFFICIAL_1, OFFICIAL_2 = MP4_SD, "t01d40e440761448fc8c538fb8d5a5b81e"


def test_a_query_parameter_given_twice_is_refused_not_widened(guarded) -> None:
    signed = cos_event("GET", f"http://{HOST}/template?category=Official&ids={OFFICIAL_1}")
    assert template_ids(guarded(signed)) == [OFFICIAL_1]
    widened = guarded(sent_as(signed, f"/template?category=Official&ids={OFFICIAL_2}&ids={OFFICIAL_1}"))
    assert widened["statusCode"] == 400, widened["body"]
    assert error_of(widened)["Code"] == "InvalidArgument" and "more than once" in error_of(widened)["Message"]
    by_case = guarded(sent_as(signed, f"/template?category=Official&ids={OFFICIAL_1}&IDS={OFFICIAL_2}"))
    assert by_case["statusCode"] == 400 and error_of(by_case)["Code"] == "InvalidArgument"


def test_a_parameter_name_in_another_case_keeps_its_filter(guarded) -> None:
    signed = cos_event("GET", f"http://{HOST}/template?category=Official&ids={OFFICIAL_1}")
    # COS signs names lowercased, so IDS= is the signed ids=, and the route reads it as ids.
    assert template_ids(guarded(sent_as(signed, f"/template?category=Official&IDS={OFFICIAL_1}"))) == [OFFICIAL_1]


def test_a_signed_trigger_runs_on_the_signed_object_only(guarded, stack, sample_video) -> None:
    bucket = stack.outputs["InputBucketName"]  # served by the stack: workflows may start there
    base = f"/buckets/{bucket}"
    s3 = boto3.client("s3")
    s3.upload_file(str(sample_video), bucket, "in/clip.mp4")
    s3.upload_file(str(sample_video), bucket, "in/other.mp4,in/clip.mp4")  # uploaded by someone else
    created = guarded(cos_event("POST", f"http://127.0.0.1{base}/workflow", body=xml_body(WORKFLOW)))
    assert created["statusCode"] == 200, created["body"]
    workflow_id = xmltodict.parse(created["body"])["Response"]["MediaWorkflow"]["WorkflowId"]
    signed = cos_event("POST", f"http://127.0.0.1{base}/triggerworkflow?workflowId={workflow_id}&object=in%2Fclip.mp4")
    before = snapshot()
    tampered = guarded(sent_as(signed, f"{base}/triggerworkflow?workflowId={workflow_id}"
                                       "&object=in%2Fother.mp4&object=in%2Fclip.mp4"))
    assert tampered["statusCode"] == 400, tampered["body"]
    assert snapshot() == before


# ------------------------------------------------------------------ captured requests used again
def with_body(event: dict[str, Any], body: bytes) -> dict[str, Any]:
    return {**event, "body": base64.b64encode(body).decode(), "isBase64Encoded": True}


def records(prefix: str) -> int:
    return sum(pk.startswith(prefix) for pk, _, _ in snapshot())


CAPTURED = 30  # seconds between signing a request and its capture being used again


def test_a_captured_write_cannot_carry_another_body_of_the_same_length(guarded) -> None:
    """The SDK signs Content-Length, not the body: the signature is bound to the body it first came with."""
    body = xml_body(TEMPLATE)
    signed = cos_event("POST", f"http://{HOST}/template", body=body, signed_ago=CAPTURED)
    assert "content-md5" not in signed["headers"]["authorization"]
    assert guarded(signed)["statusCode"] == 200
    swapped = body.replace(b"<Name>guard</Name>", b"<Name>drauG</Name>")
    assert len(swapped) == len(body) and swapped != body
    before = snapshot()
    again = guarded(with_body(signed, swapped))
    assert again["statusCode"] == 403, again["body"]
    assert error_of(again)["Code"] == "AccessDenied" and "already used for another request" in error_of(again)["Message"]
    assert snapshot() == before


def test_the_sdks_own_calls_sharing_a_signature_within_a_second_are_each_served(guarded) -> None:
    """Signed in one second, two bodies of one length to one path share a signature (the SDK's queue
    paused, then resumed): within `replay.GRACE` of signing, each is its own request."""
    body = xml_body(TEMPLATE)
    signed = cos_event("POST", f"http://{HOST}/template", body=body)
    templates = records("TEMPLATE#")
    assert guarded(signed)["statusCode"] == 200
    other = guarded(with_body(signed, body.replace(b"<Name>guard</Name>", b"<Name>drauG</Name>")))
    assert other["statusCode"] == 200, other["body"]
    assert records("TEMPLATE#") == templates + 2
    shared = tc3_event("DescribeTasks", {})
    assert [guarded(with_header(shared, "x-tc-action", a))["statusCode"] for a in ("DescribeTasks", "PullEvents")] == [200, 200]


def test_an_identical_repeat_of_a_write_gets_the_first_answer_and_acts_once(guarded) -> None:
    signed = cos_event("POST", f"http://{HOST}/template", body=xml_body(TEMPLATE))
    templates = records("TEMPLATE#")
    first = guarded(signed)
    assert first["statusCode"] == 200, first["body"]
    assert records("TEMPLATE#") == templates + 1
    again = guarded(signed)
    assert again == first  # the same TemplateId and RequestId: answered, not done again
    assert records("TEMPLATE#") == templates + 1


def test_an_identical_repeat_of_a_read_is_served_again(guarded) -> None:
    listed = cos_event("GET", f"http://{HOST}/template?category=Official&ids={OFFICIAL_1}")
    assert template_ids(guarded(listed)) == template_ids(guarded(listed)) == [OFFICIAL_1]
    first, again = (guarded(listed) for _ in range(2))
    assert xmltodict.parse(first["body"])["Response"]["RequestId"] != xmltodict.parse(again["body"])["Response"]["RequestId"]
    described = tc3_event("DescribeTasks", {})
    assert [guarded(described)["statusCode"] for _ in range(2)] == [200, 200]


@pytest.mark.parametrize("action", ["PullEvents", "DescribeTasks", "ProcessMedia"])
def test_a_captured_mps_request_is_not_good_for_another_action(guarded, action) -> None:
    captured = tc3_event("DescribeTaskDetail", {"TaskId": "mediaflow-WorkflowTask-" + "0" * 32 + "t0"}, signed_ago=CAPTURED)
    assert guarded(captured)["statusCode"] == 200
    before = snapshot()
    replayed = guarded(with_header(captured, "x-tc-action", action))
    assert replayed["statusCode"] == 403, replayed["body"]
    error = json.loads(replayed["body"])["Response"]["Error"]
    assert error["Code"] == "AuthFailure.SignatureFailure" and "another request" in error["Message"]
    assert snapshot() == before


def test_a_replayed_process_media_makes_no_second_task(guarded, stack, sample_video) -> None:
    bucket = stack.outputs["InputBucketName"]
    boto3.client("s3").upload_file(str(sample_video), bucket, "in/clip.mp4")
    request = {**PROCESS_MEDIA, "InputInfo": {"Type": "COS", "CosInputInfo": {
        "Bucket": bucket, "Region": "us-east-1", "Object": "/in/clip.mp4"}}}
    captured = tc3_event("ProcessMedia", request)
    first = guarded(captured)
    task_id = json.loads(first["body"])["Response"]["TaskId"]
    executions = records("EXEC#")
    assert guarded(captured) == first and json.loads(first["body"])["Response"]["TaskId"] == task_id
    assert records("EXEC#") == executions


def test_a_write_repeated_while_served_or_with_an_answer_too_large_to_keep_is_refused(guarded, monkeypatch) -> None:
    from mediaflow.faces import app, replay

    request = app.signed_request(cos_event("PUT", f"http://{HOST}/queue/p{'0' * 32}", body=b"<Request/>"))
    use = replay.first_use(request, mps=False)
    assert use.write and use.answer is None
    with pytest.raises(AccessDeniedError, match="being served"):
        replay.first_use(request, mps=False)
    monkeypatch.setattr(replay, "MAX_ANSWER", 10)
    use.keep({"statusCode": 200, "body": "x" * 100})
    with pytest.raises(AccessDeniedError, match="already served"):
        replay.first_use(request, mps=False)
