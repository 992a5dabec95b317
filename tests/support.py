"""Helpers shared by the test tiers: media made with ffmpeg's test sources, events/ samples, handlers."""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

ROOT = Path(__file__).resolve().parent.parent
FFMPEG_BIN = ROOT / "layers" / "ffmpeg" / "bin"
EVENTS = ROOT / "events"


def make_video(path: Path, *, seconds: float = 4, size: str = "1280x720", rate: int = 25, audio: bool = True) -> Path:
    """A test pattern (and a tone) encoded with x264/AAC."""
    args = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
            "-f", "lavfi", "-i", f"testsrc2=size={size}:rate={rate}:duration={seconds}"]
    if audio:
        args += ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=44100:duration={seconds}", "-c:a", "aac"]
    args += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-shortest", str(path)]
    subprocess.run(args, check=True)
    return path


def make_phone_clip(path: Path, *, seconds: float = 4) -> Path:
    """What a phone records held upright: a 640x360 picture tagged to be turned 90 degrees clockwise
    (ffmpeg's display matrix: -90), 29 fps, no audio."""
    landscape = make_video(path.with_name(f"landscape-{path.name}"), seconds=seconds, size="640x360", rate=29, audio=False)
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-display_rotation", "-90",
                    "-i", str(landscape), "-c", "copy", str(path)], check=True)
    return path


# espeak-ng's default en-us voice is hard for pocketsphinx (word error rates of 50-80 %); its "f2"
# variant is recognised well.
SPEECH_VOICE = "en-us+f2"
SPOKEN = ["The meeting starts at ten in the morning.", "Please bring your notes and a pen.",
          "We will talk about the new project."]  # sentences it recognises with few errors


def speak(path: Path, sentences: list[str], *, pause_ms: int = 1500, rate: int = 140) -> Path:
    """`sentences` spoken by espeak-ng (US English), `pause_ms` of silence between them, as a wav."""
    pause = f'<break time="{pause_ms}ms"/>'
    ssml = "<speak>" + pause.join(sentences) + "</speak>"
    subprocess.run(["espeak-ng", "-m", "-v", SPEECH_VOICE, "-s", str(rate), "-w", str(path), ssml], check=True, timeout=60)
    return path


def word_error_rate(reference: str, hypothesis: str) -> float:
    """Word-level Levenshtein distance over the reference's length (case and punctuation ignored)."""
    def words(text: str) -> list[str]:
        return "".join(c if c.isalnum() or c.isspace() or c == "'" else " " for c in text.lower()).split()

    ref, hyp = words(reference), words(hypothesis)
    row = list(range(len(hyp) + 1))
    for i, word in enumerate(ref, start=1):
        previous, row[0] = row[0], i
        for j, other in enumerate(hyp, start=1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (word != other))
    return row[-1] / max(1, len(ref))


def load_event(name: str) -> dict:
    """One sample event from events/ (the same files `sam local invoke -e` takes)."""
    return json.loads((EVENTS / f"{name}.json").read_text())


def import_handler(module: str, env: dict[str, str]) -> object:
    """Import a function's handler module afresh with its environment (handlers read settings at import)."""
    os.environ.update(env)
    sys.modules.pop(module, None)
    return importlib.import_module(module)


class LambdaContext:
    """The context attributes handlers and Powertools read."""

    function_name = "test-function"
    function_version = "$LATEST"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:test-function"
    aws_request_id = "00000000-0000-0000-0000-000000000000"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 30_000


def free_port() -> int:
    """A loopback port nobody listens on (once the probe socket closes)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


EVENT_BUCKET = "mediaflow-input-123456789012-us-east-1"  # the input bucket of stack "mediaflow", as in events/


def dispatched_run(handler_env: dict[str, str], video: Path, callback: str = "http://127.0.0.1:9/cb") -> str:
    """Upload the sample under uploads/, bind the demo workflow, run the dispatcher on events/dispatch-upload."""
    import boto3
    from mediaflow.control import workflows
    from mediaflow.local.demo import DEMO_WORKFLOW

    boto3.client("s3").upload_file(str(video), EVENT_BUCKET, "uploads/sample.mp4")
    workflows.create_workflow(EVENT_BUCKET, workflows.parse_workflow_xml(DEMO_WORKFLOW.format(prefix="uploads/", callback=callback)))
    dispatch = import_handler("dispatch", handler_env)
    return dispatch.handler(load_event("dispatch-upload"), LambdaContext())["runs"][0]  # type: ignore[attr-defined]


def sqs_event(queue_url: str, messages: list[dict]) -> dict:
    """Messages received from a queue, as Lambda's event source mapping hands them to a function."""
    from mediaflow.local.runtime import sqs_record

    arn = "arn:aws:sqs:us-east-1:123456789012:" + queue_url.rsplit("/", 1)[1]
    return {"Records": [sqs_record(message, arn) for message in messages]}


class Frames:
    """Decoded rgb24 frames: frames[n] is frame n's bytes, frames.pixel(n, x, y) one pixel."""

    def __init__(self, data: bytes, width: int, height: int):
        size = width * height * 3
        self.width, self.height = width, height
        self.frames = [data[i:i + size] for i in range(0, len(data), size)]

    def __getitem__(self, n: int) -> bytes:
        return self.frames[n]

    def pixel(self, n: int, x: int, y: int) -> tuple[int, int, int]:
        at = (y * self.width + x) * 3
        return tuple(self.frames[n][at:at + 3])  # type: ignore[return-value]

    def changed(self, other: "Frames", n: int, box: tuple[int, int, int, int] | None = None) -> set[tuple[int, int]]:
        """Pixels of frame n (within box x0, y0, x1, y1, exclusive) that differ from other's by more than noise."""
        x0, y0, x1, y1 = box or (0, 0, self.width, self.height)
        return {(x, y) for y in range(y0, y1) for x in range(x0, x1)
                if max(abs(a - b) for a, b in zip(self.pixel(n, x, y), other.pixel(n, x, y))) > 24}


# ------------------------------------------------------------------ signed API events
API_KEY_ID, API_SECRET = "AKIDmediaflowtests00000000000000", "tests-secret-key-0123456789abcdef0123"
MP4_SD = "t04e1ab86554984f1aa17c062fbf6c007c"


_SIGNED_AT: dict[str, set[int]] = {}


@contextmanager
def signing_clock(module: Any, *request: Any, ago: int = 0) -> Iterator[None]:
    """Have an SDK module sign `ago` seconds back, at a second no identical request was signed at
    (stepping back a second at a time). The SDKs sign with a one-second clock and no nonce, and the API
    takes an identical signature for the same request again (a write's repeat gets the first one's
    answer), while each event made here stands for a request of its own. Reuse an event to send the
    same request twice."""
    used = _SIGNED_AT.setdefault(hashlib.sha256(repr(request).encode()).hexdigest(), set())
    second = int(time.time()) - ago
    while second in used:
        second -= 1
    used.add(second)
    real = module.time

    class Clock:  # the module's `time`, whose time() is that second
        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

        @staticmethod
        def time() -> float:
            return float(second)

    module.time = Clock()
    try:
        yield
    finally:
        module.time = real


def cos_event(method: str, url: str, *, body: bytes = b"", headers: dict[str, str] | None = None,
              sign: bool = True, secret: str = API_SECRET, sign_host: bool = True, signed_ago: int = 0) -> dict:
    """The API Gateway event of a request to `url`, signed as cos-python-sdk-v5 signs it (`sign_host`:
    the SDK's SignHost, False leaves the Host out of q-header-list; `signed_ago`: seconds back it was
    signed, as a request captured and sent again later)."""
    import requests
    from mediaflow.local.front import http_api_event
    from qcloud_cos import CosConfig, cos_auth
    from qcloud_cos.cos_auth import CosS3Auth

    parts = urlsplit(url)
    signer = None
    if sign:
        conf = CosConfig(Region="ap-guangzhou", SecretId=API_KEY_ID, SecretKey=secret)
        signer = CosS3Auth(conf, parts.path, params=dict(parse_qsl(parts.query, keep_blank_values=True)),
                           sign_host=sign_host)
    with signing_clock(cos_auth, method, url, body, sorted((headers or {}).items()), secret, sign_host, ago=signed_ago):
        prepared = requests.Request(method, url, data=body or None, headers=headers, auth=signer).prepare()
    sent = [("Host", parts.netloc), *prepared.headers.items()]
    return http_api_event(method, parts.path + (f"?{parts.query}" if parts.query else ""), sent,
                          prepared.body or b"", source_ip="203.0.113.10")


def tc3_event(action: str, params: dict, *, secret: str = API_SECRET, tamper: bytes = b"",
              raw: str | None = None, signed_ago: int = 0) -> dict:
    """The API Gateway event of an MPS call signed by the TencentCloud SDK (TC3-HMAC-SHA256);
    `tamper` is appended to the body after signing; `raw`, if given, is the body signed and sent in
    place of `params` as JSON (for bodies json.dumps cannot make, such as JSON nested 100,000 deep);
    `signed_ago` as for `cos_event`."""
    from types import SimpleNamespace
    from unittest import mock

    from mediaflow.local.front import http_api_event
    from tencentcloud.common import abstract_client

    encoder = SimpleNamespace(dumps=lambda _: raw) if raw is not None else abstract_client.json
    signed = raw if raw is not None else json.dumps(params, sort_keys=True)
    with (signing_clock(abstract_client, action, signed, secret, tamper, ago=signed_ago),
          mock.patch.object(abstract_client, "json", encoder)):
        headers, data = tc3_signed(action, params, secret=secret)
    return http_api_event("POST", "/", list(headers.items()), data.encode() + tamper, source_ip="203.0.113.10")


def tc3_signed(action: str, params: dict, *, secret: str = API_SECRET, host: str = "127.0.0.1:4567") -> tuple[dict, str]:
    """Headers and body of an MPS call as the TencentCloud SDK makes them (TC3-HMAC-SHA256)."""
    from tencentcloud.common.common_client import CommonClient
    from tencentcloud.common.credential import Credential
    from tencentcloud.common.http.request import RequestInternal
    from tencentcloud.common.profile.client_profile import ClientProfile
    from tencentcloud.common.profile.http_profile import HttpProfile

    client = CommonClient("mps", "2019-06-12", Credential(API_KEY_ID, secret), "ap-guangzhou",
                          ClientProfile(httpProfile=HttpProfile(endpoint=host)))
    internal = RequestInternal(host, "POST", "/")
    client._build_req_inter(action, params, internal)
    return dict(internal.header), internal.data


class SdkSigner:
    """A `requests` auth that signs whatever request it is given as the SDKs sign theirs: TC3 when it
    carries X-TC-Action (the body signed as sent), else COS's q-sign (cos-python-sdk-v5, Host signed)."""

    def __call__(self, request: Any) -> Any:
        from types import SimpleNamespace
        from unittest import mock

        from qcloud_cos import CosConfig
        from qcloud_cos.cos_auth import CosS3Auth
        from tencentcloud.common import abstract_client

        parts = urlsplit(request.url)
        action = request.headers.get("X-TC-Action")
        if action is None:
            conf = CosConfig(Region="ap-guangzhou", SecretId=API_KEY_ID, SecretKey=API_SECRET)
            return CosS3Auth(conf, parts.path, params=dict(parse_qsl(parts.query, keep_blank_values=True)))(request)
        # A body that is not UTF-8 is signed as the SDK would sign its text (and so refused: 403).
        if not action:  # an empty X-TC-Action cannot be signed by the SDK: sent unsigned, to be refused
            return request
        body = request.body.decode(errors="replace") if isinstance(request.body, bytes) else request.body or ""
        with mock.patch.object(abstract_client, "json", SimpleNamespace(dumps=lambda _: body)):
            headers, _ = tc3_signed(action, {}, host=parts.netloc)
        request.headers.update({k: v for k, v in headers.items() if k.lower() != "host"})
        return request


def serve_bucket(bucket: str) -> None:
    """Do what a bucket's owner does to have the stack serve it: create it if needed, apply the bucket
    policy and EventBridge setting that activation answers, and activate it."""
    import boto3
    from mediaflow.control import buckets

    s3 = boto3.client("s3")
    try:
        s3.head_bucket(Bucket=bucket)
    except s3.exceptions.ClientError:
        s3.create_bucket(Bucket=bucket)
    if bucket not in buckets.own_buckets():
        s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(buckets.bucket_policy(bucket)))
        s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={"EventBridgeConfiguration": {}})
    assert buckets.activate(bucket).State == "Active"


def dispatched(records: list[dict]) -> list[str]:
    """The runs the Dispatcher starts for these S3 event records, in-process, with the stack's settings."""
    from mediaflow.pipeline import dispatch

    return dispatch.dispatch(dispatch.S3Event.model_validate({"Records": records}),
                             media_queue_url=os.environ["MEDIA_QUEUE_URL"], output_bucket=os.environ["OUTPUT_BUCKET"],
                             notify_queue_url=os.environ["NOTIFY_QUEUE_URL"])


# ------------------------------------------------------------------ a stage run as the state machine runs it
class PlannedStage:
    """One stage of an execution run through the library's steps, in-process, as the state machine
    runs them: Plan stores the unit specs and returns their numbers (`plan`); `units` and `joins` are
    the specs behind those numbers (as dicts), read back before anything runs; `run` runs the units,
    then the joins, by number (each stores its result), and records the stage from what they stored."""

    def __init__(self, execution_id: str, stage: int = 0):
        from mediaflow.pipeline import planner

        self.execution_id, self.stage = execution_id, stage
        self.plan = planner.plan(execution_id, stage)
        units, joins = planner.planned_specs(execution_id, stage, self.plan)
        self.units = [u.model_dump(mode="json") for u in units]
        self.joins = [u.model_dump(mode="json") for u in joins]
        self.next_stage = self.plan["next_stage"]

    def run(self, workers: int = 1, *, record: bool = True) -> tuple[list[dict], list[dict]]:
        """The units' and the joins' answers to the state machine ({ok, index, report})."""
        from concurrent.futures import ThreadPoolExecutor

        from mediaflow.persistence.unitstore import UnitRef
        from mediaflow.pipeline.finish import record_stage
        from mediaflow.pipeline.units import run_planned

        def run(numbers: list[int]) -> list[dict]:
            refs = [UnitRef(execution_id=self.execution_id, stage=self.stage, index=n) for n in numbers]
            with ThreadPoolExecutor(workers) as pool:
                return list(pool.map(run_planned, refs))

        answers = run(self.plan["units"]), run(self.plan["joins"])
        if record:
            record_stage(self.execution_id, self.stage)
        return answers
