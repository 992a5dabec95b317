"""`make run`: the whole path on the local stack, from an upload to the callback.

Starts the emulator, deploys template.yaml, binds a workflow (two MP4 renditions in parallel and
snapshots) with a callback to a local HTTP receiver, uploads a video, shows progress, prints the
callbacks and the outputs. Exits 0 only if the run succeeded.

An input that is a document (PDF, Word, Excel, PowerPoint, OpenDocument) or audio without a picture
goes to its own queue instead, as a job: document pages to PNG images, or speech to subtitles.

`local_demo` (the stack, the receiver and the bound workflow) is shared with bench/renditions.py.
"""

from __future__ import annotations

import http.server
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .deploy import Stack
from .runtime import LocalRuntime

UPLOAD_PREFIX = "uploads/"

DEMO_WORKFLOW = """<Request><MediaWorkflow>
  <Name>demo-renditions</Name><State>Active</State>
  <Topology>
    <Dependencies>
      <Start>Transcode_360,Transcode_720,Snapshot_1</Start>
      <Transcode_360>End</Transcode_360><Transcode_720>End</Transcode_720><Snapshot_1>End</Snapshot_1>
    </Dependencies>
    <Nodes>
      <Start><Type>Start</Type><Input>
        <ObjectPrefix>{prefix}</ObjectPrefix>
        <NotifyConfig><Type>Url</Type><Url>{callback}</Url><Event>TaskFinish,WorkflowFinish</Event><ResultFormat>XML</ResultFormat></NotifyConfig>
        <ExtFilter><State>On</State><Video>true</Video></ExtFilter>
      </Input></Start>
      <Transcode_360><Type>Transcode</Type><Operation>
        <Transcode><Container><Format>mp4</Format></Container>
          <Video><Codec>H.264</Codec><Height>360</Height><Crf>26</Crf><Preset>veryfast</Preset></Video>
          <Audio><Codec>aac</Codec><Bitrate>96</Bitrate></Audio></Transcode>
        <Output><Object>${{InputPath}}/${{InputName}}_360p.${{ext}}</Object></Output>
      </Operation></Transcode_360>
      <Transcode_720><Type>Transcode</Type><Operation>
        <Transcode><Container><Format>mp4</Format></Container>
          <Video><Codec>H.264</Codec><Height>720</Height><Crf>24</Crf><Preset>veryfast</Preset></Video>
          <Audio><Codec>aac</Codec><Bitrate>128</Bitrate></Audio></Transcode>
        <Output><Object>${{InputPath}}/${{InputName}}_720p.${{ext}}</Object></Output>
      </Operation></Transcode_720>
      <Snapshot_1><Type>Snapshot</Type><Operation>
        <Snapshot><Mode>Average</Mode><Count>4</Count><Width>640</Width></Snapshot>
        <Output><Object>${{InputPath}}/${{InputName}}_snap_${{Number}}.jpg</Object></Output>
      </Operation></Snapshot_1>
    </Nodes>
  </Topology>
</MediaWorkflow></Request>"""


class CallbackReceiver:
    """A real HTTP server on loopback that keeps what it is POSTed (port 0: any free port)."""

    def __init__(self, port: int = 0) -> None:
        self.received: list[dict[str, Any]] = []
        self.arrived = threading.Condition()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.arrived:
                    receiver.received.append(
                        {"path": self.path, "headers": dict(self.headers), "body": body, "at": time.monotonic()}
                    )
                    receiver.arrived.notify_all()
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/callback"

    def wait_for(self, predicate: Any, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self.arrived:
            while not predicate(self.received):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.arrived.wait(left)
            return True

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def is_workflow_finish(callback: dict[str, Any]) -> bool:
    """Whether a received callback (an entry of CallbackReceiver.received) is a WorkflowFinish."""
    return b"<EventName>WorkflowFinish</EventName>" in callback["body"]


def run_reported(received: list[dict[str, Any]]) -> bool:
    """The WorkflowFinish and the TaskFinish of each of its tasks have arrived (the notifier
    delivers a batch at once, so they may come in any order)."""
    finish = next((c for c in received if is_workflow_finish(c)), None)
    return finish is not None and sum(b"<EventName>TaskFinish" in c["body"] for c in received) >= finish["body"].count(b"<Tasks>")


def sample_video(ffmpeg: Path, target: Path, seconds: int = 10) -> Path:
    """A 1280x720 test pattern with a tone, made with the layer's ffmpeg."""
    subprocess.run(
        [str(ffmpeg), "-hide_banner", "-loglevel", "error", "-y",
         "-f", "lavfi", "-i", f"testsrc2=size=1280x720:rate=25:duration={seconds}",
         "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=44100:duration={seconds}",
         "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(target)],
        check=True,
    )
    return target


def _run_status() -> tuple[str, str | None]:
    """One line on the demo's run and its jobs, read through the library (pointed at the emulator)."""
    from boto3.dynamodb.conditions import Attr

    from ..control.jobs import get_execution, jobs_of
    from ..persistence import store

    runs = store.table().scan(FilterExpression=Attr("pk").begins_with("EXEC#"))["Items"]
    if not runs:
        return "waiting for the upload event", None
    execution = get_execution(runs[0]["pk"].split("#", 1)[1])
    jobs = " | ".join(f"{job.Workflow.Name if job.Workflow else job.Tag}: {job.State} {job.Progress}%"
                      for job in jobs_of(execution))
    return f"run {execution.id} {execution.state} | {jobs}", execution.state


@dataclass
class LocalDemo:
    """The local stack with the demo workflow bound to its input bucket, and the callback receiver."""

    runtime: LocalRuntime
    receiver: CallbackReceiver
    stack: Stack
    started: float  # time.monotonic() when the deploy began
    startup_seconds: float  # emulator start + deploy + workflow bound

    @property
    def bucket(self) -> str:
        return self.stack.outputs["InputBucketName"]

    @property
    def out_bucket(self) -> str:
        return self.stack.outputs["OutputBucketName"]

    @property
    def table(self) -> str:
        return self.stack.outputs["TableName"]

    def upload(self, video: Path, name: str | None = None) -> str:
        """Upload `video` under the workflow's prefix (which triggers it); returns the key."""
        key = UPLOAD_PREFIX + (name or video.name)
        self.runtime.client("s3").upload_file(str(video), self.bucket, key)
        return key


@contextmanager
def local_demo(template: Path, *, port: int = 4566, say: Callable[[str], None] = print) -> Iterator[LocalDemo]:
    """Start the emulator and the callback receiver, deploy `template`, bind the demo workflow.

    Everything is stopped when the block ends."""
    from ..control.workflows import parse_workflow_xml

    launched = time.monotonic()
    runtime = LocalRuntime(port=port).start()
    receiver = CallbackReceiver()
    try:
        started = time.monotonic()
        say(f"emulator on {runtime.endpoint}; deploying {template} ...")
        demo = LocalDemo(runtime, receiver, runtime.up(template), started, startup_seconds=0.0)
        say(f"stack up in {time.monotonic() - started:.1f}s: input s3://{demo.bucket}, output s3://{demo.out_bucket}")
        _bind_workflow(runtime, demo.table, demo.bucket, parse_workflow_xml(demo_workflow_xml(receiver.url)))
        demo.startup_seconds = time.monotonic() - launched
        yield demo
    finally:
        receiver.stop()
        runtime.stop()


def demo_workflow_xml(callback: str) -> str:
    """The CreateMediaWorkflow body of the demo workflow, calling back to `callback`."""
    return DEMO_WORKFLOW.format(prefix=UPLOAD_PREFIX, callback=callback)


# The job each non-video input gets: (feature, Tag, Operation)
JOB_DEMOS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "speech": ("speech", "SpeechRecognition", {
        "SpeechRecognition": {"EngineModelType": "16k_en", "OutputFileType": "srt", "ResTextFormat": "0"},
        "Output": {"Object": "jobs/${InputName}.srt"}}),
    "doc": ("doc", "DocProcess", {
        "DocProcess": {"TgtType": "png", "ImageDpi": "96"}, "Output": {"Object": "jobs/${InputName}/page-${Page}.png"}}),
}
QUEUE_OUTPUTS = {"speech": "SpeechQueueUrl", "doc": "DocQueueUrl"}


def check_demo_input(path: Path) -> tuple[Path, str]:
    """The input and what it is, by its content: "doc", "speech" (audio only) or "video". Refused, before
    anything starts, when it is none of them or a video the demo workflow would never run on."""
    from ..control.workflows import VIDEO_EXTS
    from ..docs import DocumentError, document_kind
    from ..exceptions import InvalidInputError, MediaflowError
    from ..media import probe

    if not path.is_file():
        raise InvalidInputError(f"{path} is not a file")
    try:
        document_kind(path, name=path.name)
        return path.resolve(), "doc"
    except DocumentError:
        pass
    try:
        info = probe(str(path))
    except MediaflowError as error:
        raise InvalidInputError(f"{path.name} is neither a document nor media: {error.message}") from error
    if info.video is None and info.audio is not None:
        return path.resolve(), "speech"
    if path.suffix.lower().lstrip(".") not in VIDEO_EXTS:
        raise InvalidInputError(f"{path.name}: the demo workflow triggers on video extensions only "
                                f"({', '.join(sorted(VIDEO_EXTS))})")
    return path.resolve(), "video"


def run_demo(template: Path, input_path: Path | None, *, port: int = 4566, timeout: float = 600) -> int:
    kind = "video"
    os.environ.setdefault("FFMPEG_PATH", str(template.parent / "layers/ffmpeg/bin/ffmpeg"))  # the input's probe
    if input_path is not None:
        input_path, kind = check_demo_input(input_path)
    with local_demo(template, port=port, say=lambda line: print(line, flush=True)) as demo:
        if kind != "video":
            return run_job_demo(demo, input_path, kind, timeout=timeout)
        receiver = demo.receiver
        with tempfile.TemporaryDirectory() as folder:
            video = input_path or sample_video(template.parent / "layers/ffmpeg/bin/ffmpeg", Path(folder) / "sample.mp4")
            key = demo.upload(video)
        print(f"uploaded s3://{demo.bucket}/{key}; callbacks go to {receiver.url}")

        last = ""
        deadline = time.monotonic() + timeout
        trigger_deadline = time.monotonic() + 60  # the upload event should have made a run by then
        while not receiver.wait_for(run_reported, timeout=1.0):
            line, state = _run_status()
            if line != last:
                print("  " + line, flush=True)
                last = line
            if time.monotonic() > deadline or (state is None and time.monotonic() > trigger_deadline):
                print(f"  no {'run was triggered' if state is None else 'WorkflowFinish callback'} in time")
                break
        line, state = _run_status()
        print("  " + line)
        _print_results(demo)
        print(f"\nfinished in {time.monotonic() - demo.started:.1f}s: {state}")
        return 0 if state == "Success" else 1


def run_job_demo(demo: LocalDemo, path: Path, kind: str, *, timeout: float) -> int:
    """A speech or document job on `path` through the API's library, called back like the workflow."""
    from ..control.jobs import get_job
    from ..control.submit import create_jobs

    feature, tag, operation = JOB_DEMOS[kind]
    key = f"jobs/{path.name}"  # not under the workflow's prefix: this upload runs no workflow
    demo.runtime.client("s3").upload_file(str(path), demo.bucket, key)
    job = create_jobs(demo.bucket, {"Tag": tag, "Input": {"Object": key}, "Operation": operation, "CallBack": demo.receiver.url},
                      output_bucket=demo.out_bucket, queue_url=demo.stack.outputs[QUEUE_OUTPUTS[kind]], feature=feature)[0]
    print(f"uploaded s3://{demo.bucket}/{key}; {tag} job {job.JobId} queued; callbacks go to {demo.receiver.url}")
    last, deadline = "", time.monotonic() + timeout
    while not demo.receiver.wait_for(lambda got: any(job.JobId.encode() in c["body"] for c in got), timeout=1.0):
        current = get_job(job.JobId)
        line = f"job {job.JobId} {current.State} {current.Progress}%"
        if line != last:
            print("  " + line, flush=True)
            last = line
        if time.monotonic() > deadline:
            print("  no TaskFinish callback in time")
            break
    done = get_job(job.JobId)
    print(f"  job {done.JobId} {done.State}{' ' + done.Code + ': ' + done.Message if done.Message else ''}")
    _print_results(demo)
    if done.Operation.SpeechRecognitionResult:
        print(f"\nrecognised: {done.Operation.SpeechRecognitionResult['Result']}")
    print(f"\nfinished in {time.monotonic() - demo.started:.1f}s: {done.State}")
    return 0 if done.State == "Success" else 1


def _print_results(demo: LocalDemo) -> None:
    """The callbacks received and the objects in the output bucket."""
    for callback in demo.receiver.received:
        print(f"\n--- callback POST {callback['path']} (webhook-id {callback['headers'].get('webhook-id')})")
        print(callback["body"].decode())
    print(f"\noutputs in s3://{demo.out_bucket}:")
    for obj in demo.runtime.client("s3").list_objects_v2(Bucket=demo.out_bucket).get("Contents", []):
        print(f"  {obj['Size']:>10}  {obj['Key']}")


def _bind_workflow(runtime: LocalRuntime, table: str, bucket: str, spec: dict[str, Any]) -> None:
    """Store the workflow through the library, against the emulator."""
    from .. import aws, config
    from ..control import workflows

    os.environ.update(TABLE_NAME=table, AWS_ENDPOINT_URL=runtime.endpoint, AWS_DEFAULT_REGION="us-east-1",
                      AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
    config.table_name.cache_clear()
    aws.reset()
    workflows.create_workflow(bucket, spec)


if __name__ == "__main__":
    sys.exit(run_demo(Path("template.yaml"), None))
