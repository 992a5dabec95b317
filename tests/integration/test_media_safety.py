"""Hostile, broken and over-limit inputs on the template's stack in moto, through the plan, unit and
finish handlers in-process: each job ends Failed with a Message that says why, no unit runs for it
and nothing reaches the output bucket. The queue's limits are shown and changed through the API."""

from __future__ import annotations

import importlib
import os
import random
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import pytest
import xmltodict
from mediaflow.control import submit
from mediaflow.control.jobs import get_execution, get_job
from mediaflow.control.queues import claim_next, ensure_queues
from mediaflow.exceptions import MediaError
from mediaflow.models import Job, ObjectRef
from mediaflow.pipeline.planner import Inputs
from support import MP4_SD, LambdaContext, cos_event, import_handler, serve_bucket

pytestmark = pytest.mark.integration
BUCKET = "safety-1250000000"  # a name the API accepts in a path, so its queue is this bucket's
probe_module = importlib.import_module("mediaflow.media.probe")  # the package's `probe` is the function
TRANSCODE = {"TemplateId": MP4_SD, "Output": {"Object": "out/${Jobid}.${ext}"}}


class Run:
    """Jobs created as the API creates them, then planned, run and finished by the step handlers."""

    def __init__(self, handler_env: dict[str, str]):
        self.plan = import_handler("plan", handler_env)
        self.unit = import_handler("unit", handler_env)
        self.finish = import_handler("finish", handler_env)
        self.units: dict[str, int] = {}  # units planned, by job

    def job(self, key: str, body: bytes, operation: dict | None = None, tag: str = "Transcode") -> Job:
        boto3.client("s3").put_object(Bucket=BUCKET, Key=key, Body=body)
        request = {"Tag": tag, "Input": {"Object": key}, "Operation": operation or TRANSCODE}
        job = submit.create_jobs(BUCKET, request, output_bucket=os.environ["OUTPUT_BUCKET"],
                                       queue_url=os.environ["MEDIA_QUEUE_URL"])[0]
        assert [e.id for e in claim_next(job.QueueId)] == [job.execution_id]
        plan = self.plan.handler({"execution_id": job.execution_id, "stage": 0}, LambdaContext())
        self.units[job.JobId] = len(plan["units"]) + len(plan["joins"])
        for number in plan["units"]:  # as the state machine calls the steps: by unit number
            self.unit.handler({"execution_id": job.execution_id, "stage": 0, "index": number}, LambdaContext())
        self.finish.handler({"execution_id": job.execution_id, "stage": 0}, LambdaContext())
        self.finish.handler({"execution_id": job.execution_id}, LambdaContext())
        assert get_execution(job.execution_id).state == "Failed"
        return get_job(job.JobId)


def output_keys() -> list[str]:
    listing = boto3.client("s3").list_objects_v2(Bucket=os.environ["OUTPUT_BUCKET"])
    return [o["Key"] for o in listing.get("Contents", [])]


@pytest.fixture
def run(stack, handler_env) -> Run:
    serve_bucket(BUCKET)
    return Run(handler_env)


@pytest.fixture
def segment_server(sample_video, tmp_path):
    """A local HTTP server that serves a real segment and counts the requests it gets."""
    segment = tmp_path / "seg.ts"
    segment.write_bytes(sample_video.read_bytes())
    requests: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            requests.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(segment.read_bytes())

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", requests
    server.shutdown()
    server.server_close()


def playlist(*segments: str) -> bytes:
    entries = "".join(f"#EXTINF:4,\n{segment}\n" for segment in segments)
    return f"#EXTM3U\n#EXT-X-TARGETDURATION:4\n{entries}#EXT-X-ENDLIST\n".encode()


def test_inputs_that_refer_to_other_files_or_hosts_fail_and_reach_nothing(run, segment_server, monkeypatch) -> None:
    host, requests = segment_server
    cases = {
        "in/passwd.m3u8": (playlist("/etc/passwd", "file:///etc/passwd"), "the input is an HLS playlist"),
        "in/remote.m3u8": (playlist(f"{host}/seg.ts"), "the input is an HLS playlist"),
        "in/list.ffconcat": (b"ffconcat version 1.0\nfile '/etc/passwd'\n", "the input is an ffconcat list"),
        "in/manifest.mpd": (b'<?xml version="1.0"?>\n<MPD type="static"><Period><AdaptationSet><Representation>'
                            b"<BaseURL>file:///etc/passwd</BaseURL></Representation></AdaptationSet></Period></MPD>",
                            "the input is an XML document"),
    }
    for key, (body, message) in cases.items():
        job = run.job(key, body)
        assert (job.State, job.Code, run.units[job.JobId]) == ("Failed", "InvalidMedia", 0), key
        assert message in job.Message and "refers to other files" in job.Message, job.Message

    # Were the first bytes not recognised, ffmpeg itself must open nothing the playlist names.
    monkeypatch.setattr(probe_module, "_REFERRING_TEXT", ())
    for key in ("in/passwd.m3u8", "in/remote.m3u8", "in/list.ffconcat"):
        job = run.job(key, cases[key][0])
        assert (job.State, job.Code, run.units[job.JobId]) == ("Failed", "InvalidMedia", 0), key
        assert "not a media file ffmpeg can read" in job.Message and "root:" not in job.Message, job.Message

    assert requests == []
    assert output_keys() == []


def test_empty_broken_and_non_media_inputs_fail_with_the_reason(run, sample_video) -> None:
    data = sample_video.read_bytes()  # its index is at the end: the first half has none
    cases = {
        "in/empty.mp4": (b"", "the input is empty (0 bytes)"),
        "in/truncated.mp4": (data[: len(data) // 2], "moov atom not found"),
        "in/random.mp4": (random.Random(0).randbytes(65536), "Invalid data found when processing input"),
        "in/notes.txt": (b"a text file,\nnot a video\n", "Invalid data found when processing input"),
    }
    for key, (body, message) in cases.items():
        job = run.job(key, body)
        assert (job.State, job.Code, run.units[job.JobId]) == ("Failed", "InvalidMedia", 0), key
        assert message in job.Message, job.Message
    assert output_keys() == []


def test_every_job_on_a_broken_input_gets_its_reason(run, tmp_path) -> None:
    """A workflow's nodes share one Plan: the second node reading a broken input gets the same
    reason as the first, not an error from the step's own download folder."""
    boto3.client("s3").put_object(Bucket=BUCKET, Key="in/shared.mp4", Body=b"not a video at all")
    inputs, source = Inputs(tmp_path), ObjectRef(bucket=BUCKET, key="in/shared.mp4")
    reasons = []
    for _ in range(3):
        with pytest.raises(MediaError) as failure:
            inputs.get(source)
        reasons.append(str(failure.value))
    assert len(set(reasons)) == 1 and "Invalid data" in reasons[0], reasons


# ------------------------------------------------------------------ queue limits
def api(serve, method: str, path: str, body: str = "") -> dict:
    result = serve(cos_event(method, f"http://127.0.0.1/buckets/{BUCKET}{path}", body=body.encode(),
                             headers={"Content-Type": "application/xml"} if body else None))
    return {"status": result["statusCode"], **xmltodict.parse(result["body"])}


def update(serve, queue_id: str, **limits: str) -> dict:
    fields = "".join(f"<{name}>{value}</{name}>" for name, value in limits.items())
    body = f"<Request><Name>queue-1</Name><State>Active</State>{fields}</Request>"
    return api(serve, "PUT", f"/queue/{queue_id}", body)


def limits(queue: dict) -> tuple[str, str, str]:
    return queue["MaxInputSize"], queue["MaxInputDuration"], queue["MaxOutputsPerJob"]


def test_queue_limits_are_shown_changed_and_enforced_before_any_unit(run, serve, sample_video) -> None:
    shown = api(serve, "GET", "/queue")["Response"]["QueueList"]
    queue_id = shown["QueueId"]
    assert limits(shown) == ("4831838208", "21600", "10000")

    for field, value in (("MaxInputSize", "-1"), ("MaxInputDuration", "inf"), ("MaxOutputsPerJob", "many")):
        refused = update(serve, queue_id, **{field: value})
        assert refused["status"] == 400 and refused["Error"]["Code"] == "InvalidArgument", refused
        assert refused["Error"]["Message"].startswith(f"{field}: "), refused

    changed = update(serve, queue_id, MaxInputDuration="2.5", MaxOutputsPerJob="3")["Response"]["Queue"]
    assert (changed["MaxInputDuration"], changed["MaxOutputsPerJob"]) == ("2.5", "3")
    assert limits(api(serve, "GET", "/queue")["Response"]["QueueList"]) == ("4831838208", "2.5", "3")

    video = sample_video.read_bytes()  # 4 s
    long = run.job("in/long.mp4", video)
    assert (long.State, long.Code, run.units[long.JobId]) == ("Failed", "InvalidInput.LimitExceeded", 0)
    assert long.Message == f"the input lasts 4 s, more than queue {queue_id} allows (MaxInputDuration 2.5 s)"

    update(serve, queue_id, MaxInputDuration="0", MaxOutputsPerJob="3")
    snapshots = {"Snapshot": {"Mode": "Interval", "Count": "5"}, "Output": {"Object": "snap/${Number}.jpg"}}
    many = run.job("in/many.mp4", video, snapshots, tag="Snapshot")
    assert (many.State, many.Code, run.units[many.JobId]) == ("Failed", "InvalidInput.LimitExceeded", 0)
    assert many.Message == f"the job would write 5 objects, more than queue {queue_id} allows (MaxOutputsPerJob 3)"

    update(serve, queue_id, MaxInputSize="100000")
    large = run.job("in/large.mp4", video)
    assert (large.State, large.Code, run.units[large.JobId]) == ("Failed", "InvalidInput.LimitExceeded", 0)
    assert "more than queue" in large.Message and "(MaxInputSize 97.7 KB)" in large.Message

    assert output_keys() == []
    assert ensure_queues(BUCKET)["media"].MaxOutputsPerJob == 3  # a limit left out of an update stays
