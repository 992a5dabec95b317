"""Pipeline overhead: one Transcode job on the local stack, as a ratio against raw ffmpeg doing the same work.

The same input and the same work, in the same run:

* raw ffmpeg: the job's encode (720p H.264/AAC mp4, Crf 23, preset veryfast), with the argument
  list the task unit builds (mediaflow.media.transcode_args) from the same parsed parameters; best
  of --repeat;
* the pipeline: the local stack (emulator + local Lambda workers, from template.yaml, the HTTP API
  on its local front), the input already in the input bucket; the job is submitted with the COS
  SDK (CreateMediaJobs, POST /jobs) with a CallBack to a local receiver, and timed from the submit
  call to its TaskFinish callback. One run on a fresh stack, so it includes the workers' cold
  starts. The stack's start-up time, and the job's own CreationTime -> StartTime -> EndTime from
  the callback's JobsDetail, are reported on their own. --split-seconds sets the stack's
  SplitSeconds (default: the template's), the piece length of split-parallel transcoding.

Usage: .venv/bin/python bench/transcode.py [--input FILE] [--seconds N] [--repeat N] [--timeout S]
[--split-seconds S] [--json]
(or `make bench-transcode [INPUT=FILE]`). Exits non-zero if the job does not end in State Success.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

# the other benchmarks in this folder
from dispatch import point_library_at, say
from mediaflow.control.jobs import get_execution
from mediaflow.control.templates import build_operation, operation_params
from mediaflow.exceptions import MediaflowError
from mediaflow.local.demo import CallbackReceiver, sample_video
from mediaflow.local.runtime import LocalRuntime
from mediaflow.media import TranscodeParams, probe, transcode_args
from mediaflow.shapes.cos import parse
from mediaflow.times import parse_ci_time
from qcloud_cos import CosConfig, CosS3Client
from renditions import (
    FFMPEG,
    FFMPEG_PREFIX,
    REGION,
    TEMPLATE,
    best_of,
    free_port,
    raw_sequential,
)

INPUT_KEY = "bench-transcode/input.mp4"  # no workflow is bound: the upload starts nothing
# The job's Operation as a COS SDK user writes it (inline parameters, values as the XML carries them).
OPERATION = {
    "Transcode": {
        "Container": {"Format": "mp4"},
        "Video": {"Codec": "H.264", "Height": "720", "Crf": "23", "Preset": "veryfast"},
        "Audio": {"Codec": "aac", "Bitrate": "128"},
    },
    "Output": {"Region": REGION, "Object": "bench-transcode/output_720p.${ext}"},
}


def job_params() -> TranscodeParams:
    """The job's parameters, resolved as CreateMediaJobs and the planner do, as the task unit gets them."""
    operation = build_operation("Transcode", OPERATION, default_bucket="bench", default_region=REGION)
    params = operation_params("Transcode", operation)
    # The planner hands the unit its parameters as JSON; the unit validates them again.
    return TranscodeParams.model_validate(params.model_dump(mode="json", exclude_none=True))


# ------------------------------------------------------------------ the pipeline
@dataclass
class PipelineResult:
    seconds: float  # submit call -> TaskFinish callback received
    submit_call: float  # the CreateMediaJobs call itself
    startup: float  # emulator start + deploy + API front up + input uploaded
    detail: dict[str, Any]  # the callback's JobsDetail
    units: int  # task units the job was planned into (more than one: split-parallel)


def pipeline(video: Path, timeout: float, port: int, split_seconds: float | None) -> PipelineResult:
    """One job on a fresh local stack whose API has answered once: the Lambda workers' cold starts
    are in the figure, the API's is in the start-up."""
    launched = time.monotonic()
    runtime = LocalRuntime(port=port).start()
    receiver = CallbackReceiver()
    try:
        stack = runtime.up(TEMPLATE, parameters={} if split_seconds is None else {"SplitSeconds": f"{split_seconds:g}"})
        api = urlsplit(runtime.start_api(stack, port=0).url)
        key_id, secret_key = runtime.access_keys(stack)
        cos = CosS3Client(CosConfig(Region=REGION, SecretId=key_id, SecretKey=secret_key,
                                    IP=api.hostname, Port=api.port, Scheme="http"))
        bucket = stack.outputs["InputBucketName"]
        runtime.client("s3").upload_file(str(video), bucket, INPUT_KEY)
        # One API call before the clock: the API worker's first request waits for it to load (a cold
        # start, counted in the start-up), and the bucket's queues are created.
        cos.ci_get_media_queue(Bucket=bucket)
        startup = time.monotonic() - launched
        say(f"stack up in {startup:.1f}s; submitting the job to {api.geturl()} ...")

        request = {"Tag": "Transcode", "Input": {"Object": INPUT_KEY},
                   "Operation": {**OPERATION, "Output": {**OPERATION["Output"], "Bucket": stack.outputs["OutputBucketName"]}},
                   "CallBack": receiver.url, "CallBackFormat": "XML"}
        started = time.monotonic()
        answer = cos.ci_create_media_jobs(Bucket=bucket, Jobs=request, Lst={})
        submit_call = time.monotonic() - started
        created = answer["JobsDetail"]  # the SDK gives a list, even of one
        job_id = (created[0] if isinstance(created, list) else created)["JobId"]
        if not receiver.wait_for(lambda received: _finish_of(received, job_id) is not None, timeout):
            sys.exit(f"no TaskFinish callback for job {job_id} within {timeout:g}s (function logs: {runtime.log_dir})")
        callback, detail = _finish_of(receiver.received, job_id)  # type: ignore[misc]
        if detail["State"] != "Success":
            sys.exit(f"job {job_id} ended in State {detail['State']} ({detail.get('Code')}: {detail.get('Message')}), "
                     f"not Success (function logs: {runtime.log_dir})")
        point_library_at(runtime.endpoint, stack.outputs["TableName"], stack.outputs["InputBucketName"])
        units = get_execution(job_id).units_total  # a submitted job is its own execution
        return PipelineResult(callback["at"] - started, submit_call, startup, detail, units)
    finally:
        receiver.stop()
        runtime.stop()


def _finish_of(received: list[dict[str, Any]], job_id: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The TaskFinish callback of job `job_id`, and its JobsDetail."""
    for callback in received:
        response = parse(callback["body"])["Response"]
        if response.get("EventName") == "TaskFinish" and response["JobsDetail"]["JobId"] == job_id:
            return callback, response["JobsDetail"]
    return None


def _seconds_between(detail: dict[str, Any], first: str, then: str) -> float:
    """Seconds between two of a JobsDetail's times (whole seconds: CI times have no fraction)."""
    return (parse_ci_time(detail[then]) - parse_ci_time(detail[first])).total_seconds()


# ------------------------------------------------------------------ report
def report(figures: dict[str, Any]) -> str:
    rows = [
        ("raw ffmpeg", f"{figures['raw_s']:.2f} s"),
        ("pipeline, submit -> callback", f"{figures['pipeline_s']:.2f} s"),
        ("  of which the submit call", f"{figures['submit_call_s']:.2f} s"),
        ("  job CreationTime -> StartTime", f"{figures['job_queued_s']:.0f} s"),
        ("  job StartTime -> EndTime", f"{figures['job_ran_s']:.0f} s"),
        ("task units", f"{figures['units']}"),
        ("stack start-up", f"{figures['stack_startup_s']:.2f} s"),
        ("pipeline / raw", f"{figures['pipeline_over_raw']:.2f}x"),
    ]
    width = max(len(label) for label, _ in rows)
    split = "template default" if figures["split_seconds"] is None else f"{figures['split_seconds']:g} s"
    head = (f"input {figures['input']} ({figures['input_duration_s']:.1f} s), one Transcode job to "
            f"720p H.264/AAC mp4, SplitSeconds {split}, raw: best of {figures['repeat']}, "
            f"os.cpu_count() = {figures['cpu_count']}")
    return "\n".join([head, *(f"  {label:<{width}}  {value:>9}" for label, value in rows)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--input", type=Path, help="a video file (default: a generated 1280x720 25 fps test pattern)")
    parser.add_argument("--seconds", type=int, default=60, help="length of the generated input (default 60)")
    parser.add_argument("--repeat", type=int, default=1, help="runs of the raw ffmpeg measurement; the best counts (default 1)")
    parser.add_argument("--timeout", type=float, default=900, help="seconds to wait for the job's callback (default 900)")
    parser.add_argument("--split-seconds", type=float,
                        help="the stack's SplitSeconds: piece length of split-parallel transcoding, 0 off (default: the template's)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON instead of a table")
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.seconds < 1:
        parser.error("--repeat and --seconds must be at least 1")
    if args.split_seconds is not None and args.split_seconds < 0:
        parser.error("--split-seconds must be 0 (off) or more")
    if not FFMPEG.is_file():
        parser.error(f"{FFMPEG} is missing; `make install` builds it")
    if args.input and not args.input.is_file():
        parser.error(f"{args.input} is not a file")

    os.environ.setdefault("FFMPEG_PATH", str(FFMPEG))  # what mediaflow.media.probe runs
    params = job_params()
    with tempfile.TemporaryDirectory(prefix="mediaflow-bench-") as folder:
        work = Path(folder)
        if args.input:
            video = args.input.resolve()
        else:
            say(f"generating a {args.seconds} s 1280x720 test pattern ...")
            video = sample_video(FFMPEG, work / "sample.mp4", seconds=args.seconds)
        try:
            duration = probe(str(video)).duration
        except MediaflowError as error:
            sys.exit(f"cannot read {video}: {error.message}")
        command = [str(FFMPEG), *FFMPEG_PREFIX,
                   *transcode_args(str(video), str(work / f"raw.{params.extension}"), params, source_duration=duration)]

        say("raw ffmpeg ...")
        raw, raw_runs = best_of(args.repeat, raw_sequential, lambda: [command])
        say("pipeline ...")
        piped = pipeline(video, args.timeout, free_port(), args.split_seconds)

    figures: dict[str, Any] = {
        "input": str(args.input) if args.input else "generated 1280x720 25 fps test pattern",
        "input_duration_s": round(duration, 3),
        "repeat": args.repeat,
        "cpu_count": os.cpu_count(),
        "split_seconds": args.split_seconds,
        "raw_s": round(raw, 3),
        "pipeline_s": round(piped.seconds, 3),
        "submit_call_s": round(piped.submit_call, 3),
        "job_queued_s": _seconds_between(piped.detail, "CreationTime", "StartTime"),
        "job_ran_s": _seconds_between(piped.detail, "StartTime", "EndTime"),
        "units": piped.units,
        "stack_startup_s": round(piped.startup, 3),
        "pipeline_over_raw": round(piped.seconds / raw, 3),
        "raw_runs_s": [round(t, 3) for t in raw_runs],
        "job_id": piped.detail["JobId"],
    }
    print(json.dumps(figures, indent=2) if args.json else report(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
