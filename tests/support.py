"""Helpers shared by the test tiers: media made with ffmpeg's test sources, events/ samples, handlers."""

from __future__ import annotations

import importlib
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

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

    from mediaflow import workflows
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
