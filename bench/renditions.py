"""Speed is a feature: the demo workflow on the local stack, as ratios against raw ffmpeg.

The same input and the same work, in the same run:

* raw ffmpeg: the demo workflow's three operations (360p and 720p H.264/AAC mp4, 4 Average
  snapshots), with the argument lists the task units build from the same workflow XML, run
  (i) one after another and (ii) all at once; best of --repeat;
* the pipeline: the local stack (emulator + local Lambda workers, from template.yaml) with the
  demo workflow bound, timed from the upload call to the WorkflowFinish callback arriving at the
  local receiver; one run on a fresh stack, so it includes the workers' cold starts. The stack's
  start-up time is reported on its own.

Usage: .venv/bin/python bench/renditions.py [--input FILE] [--seconds N] [--repeat N] [--json]
(or `make bench [INPUT=FILE]`). Exits non-zero if a run does not end in State Success.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mediaflow.control.templates import build_operation, operation_params
from mediaflow.control.workflows import Topology, parse_workflow_xml
from mediaflow.exceptions import MediaflowError
from mediaflow.local.demo import (
    check_demo_input,
    demo_workflow_xml,
    is_workflow_finish,
    local_demo,
    sample_video,
)
from mediaflow.media import (
    SnapshotParams,
    TranscodeParams,
    probe,
    snapshot_args,
    transcode_args,
)
from mediaflow.shapes.cos import parse

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "template.yaml"
FFMPEG = ROOT / "layers" / "ffmpeg" / "bin" / "ffmpeg"
# What the task units run through mediaflow.media.run_ffmpeg, minus its info-level logging.
FFMPEG_PREFIX = ["-hide_banner", "-nostdin", "-y", "-loglevel", "error"]
REGION = "us-east-1"


@dataclass
class DemoNode:
    """One processing node of the demo workflow, with the parameters its task unit runs with."""

    name: str
    params: TranscodeParams | SnapshotParams

    def args(self, src: Path, out: Path, duration: float) -> list[str]:
        if isinstance(self.params, TranscodeParams):
            target = out / f"{self.name}.{self.params.extension}"
            return transcode_args(str(src), str(target), self.params, source_duration=duration)
        folder = out / self.name
        folder.mkdir(parents=True, exist_ok=True)
        return snapshot_args(str(src), str(folder / f"snap-%d.{self.params.Format}"), self.params, duration=duration)


def demo_nodes() -> list[DemoNode]:
    """The demo workflow's processing nodes, parsed and resolved as dispatch and plan do."""
    spec = parse_workflow_xml(demo_workflow_xml("http://127.0.0.1/unused"))
    topology = Topology.model_validate(spec["Topology"])
    operations = []
    for name in topology.ordered_nodes():
        node = topology.Nodes[name]
        operation = build_operation(node.Type, node.Operation or {}, default_bucket="bench", default_region=REGION)
        params = operation_params(node.Type, operation)
        # The planner hands the unit its parameters as JSON; the unit validates them again.
        params = type(params).model_validate(params.model_dump(mode="json", exclude_none=True))
        operations.append(DemoNode(name, params))
    return operations


# ------------------------------------------------------------------ raw ffmpeg
def _commands(operations: list[DemoNode], src: Path, out: Path, duration: float) -> list[list[str]]:
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    return [[str(FFMPEG), *FFMPEG_PREFIX, *op.args(src, out, duration)] for op in operations]


def _check(command: list[str], returncode: int, stderr: bytes) -> None:
    if returncode != 0:
        sys.exit(f"ffmpeg failed ({returncode}): {' '.join(command)}\n{stderr.decode(errors='replace')}")


def raw_sequential(commands: list[list[str]]) -> float:
    started = time.perf_counter()
    for command in commands:
        done = subprocess.run(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _check(command, done.returncode, done.stderr)
    return time.perf_counter() - started


def raw_parallel(commands: list[list[str]]) -> float:
    started = time.perf_counter()
    processes = [
        subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for command in commands
    ]
    outcomes = [(command, process, process.communicate()[1]) for command, process in zip(commands, processes)]
    elapsed = time.perf_counter() - started
    for command, process, stderr in outcomes:
        _check(command, process.returncode, stderr)
    return elapsed


def best_of(repeat: int, run: Callable[[list[list[str]]], float],
            make_commands: Callable[[], list[list[str]]]) -> tuple[float, list[float]]:
    times = [run(make_commands()) for _ in range(repeat)]
    return min(times), times


# ------------------------------------------------------------------ the pipeline
@dataclass
class PipelineResult:
    seconds: float  # upload call -> WorkflowFinish callback received
    startup: float  # emulator start + deploy + workflow bound


def pipeline(video: Path, timeout: float, port: int) -> PipelineResult:
    """One run on a fresh local stack, so it includes the workers' cold starts, as `make run` does.

    One run only: with the pinned moto (5.2.1), StartExecution can fail while another execution
    of the same state machine is still running (getmoto/moto#10077, fixed in later releases)."""
    with local_demo(TEMPLATE, port=port, say=lambda line: print(line, file=sys.stderr, flush=True)) as demo:
        started = time.monotonic()
        key = demo.upload(video)
        if not demo.receiver.wait_for(lambda received: _finish_of(received, key) is not None, timeout):
            sys.exit(f"no WorkflowFinish callback for s3://{demo.bucket}/{key} within {timeout:g}s "
                     f"(function logs: {demo.runtime.log_dir})")
        callback, state = _finish_of(demo.receiver.received, key)  # type: ignore[misc]
        if state != "Success":
            sys.exit(f"the run of s3://{demo.bucket}/{key} ended in State {state}, not Success "
                     f"(function logs: {demo.runtime.log_dir})")
        return PipelineResult(callback["at"] - started, demo.startup_seconds)


def _finish_of(received: list[dict[str, Any]], key: str) -> tuple[dict[str, Any], str] | None:
    """The WorkflowFinish callback of the run on `key`, and the run's State."""
    for callback in received:
        if is_workflow_finish(callback):
            execution = parse(callback["body"])["Response"]["WorkflowExecution"]
            if execution["Object"] == key:
                return callback, execution["State"]
    return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe_socket:
        probe_socket.bind(("127.0.0.1", 0))
        return probe_socket.getsockname()[1]


# ------------------------------------------------------------------ report
def report(figures: dict[str, object]) -> str:
    rows = [
        ("raw ffmpeg, sequential", f"{figures['raw_sequential_s']:.2f} s"),
        ("raw ffmpeg, parallel", f"{figures['raw_parallel_s']:.2f} s"),
        ("pipeline, upload -> callback", f"{figures['pipeline_s']:.2f} s"),
        ("stack start-up", f"{figures['stack_startup_s']:.2f} s"),
        ("pipeline / raw sequential", f"{figures['pipeline_over_raw_sequential']:.2f}x"),
        ("pipeline / raw parallel", f"{figures['pipeline_over_raw_parallel']:.2f}x"),
    ]
    width = max(len(label) for label, _ in rows)
    head = (f"input {figures['input']} ({figures['input_duration_s']:.1f} s), "
            f"raw: best of {figures['repeat']}, os.cpu_count() = {figures['cpu_count']}")
    return "\n".join([head, *(f"  {label:<{width}}  {value:>9}" for label, value in rows)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--input", type=Path, help="a video file (default: a generated 1280x720 25 fps test pattern)")
    parser.add_argument("--seconds", type=int, default=30, help="length of the generated input (default 30)")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each raw ffmpeg measurement; the best counts (default 1)")
    parser.add_argument("--timeout", type=float, default=900, help="seconds to wait for one pipeline run (default 900)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON instead of a table")
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.seconds < 1:
        parser.error("--repeat and --seconds must be at least 1")
    if not FFMPEG.is_file():
        parser.error(f"{FFMPEG} is missing; `make install` builds it")

    os.environ.setdefault("FFMPEG_PATH", str(FFMPEG))  # what mediaflow.media.probe runs
    with tempfile.TemporaryDirectory(prefix="mediaflow-bench-") as folder:
        work = Path(folder)
        if args.input:
            try:
                video, kind = check_demo_input(args.input)
            except MediaflowError as error:
                parser.error(error.message)
            if kind != "video":
                parser.error(f"{args.input} is not a video: this bench measures the rendition workflow")
        else:
            print(f"generating a {args.seconds} s 1280x720 test pattern ...", file=sys.stderr, flush=True)
            video = sample_video(FFMPEG, work / "sample.mp4", seconds=args.seconds)
        try:
            duration = probe(str(video)).duration
        except MediaflowError as error:
            sys.exit(f"cannot read {video}: {error.message}")
        operations = demo_nodes()

        def commands() -> list[list[str]]:
            return _commands(operations, video, work / "raw", duration)

        print("raw ffmpeg, sequential ...", file=sys.stderr, flush=True)
        sequential, sequential_runs = best_of(args.repeat, raw_sequential, commands)
        print("raw ffmpeg, parallel ...", file=sys.stderr, flush=True)
        parallel, parallel_runs = best_of(args.repeat, raw_parallel, commands)
        print("pipeline ...", file=sys.stderr, flush=True)
        piped = pipeline(video, args.timeout, free_port())

    figures: dict[str, object] = {
        "input": str(args.input) if args.input else "generated 1280x720 25 fps test pattern",
        "input_duration_s": round(duration, 3),
        "repeat": args.repeat,
        "cpu_count": os.cpu_count(),
        "raw_sequential_s": round(sequential, 3),
        "raw_parallel_s": round(parallel, 3),
        "pipeline_s": round(piped.seconds, 3),
        "stack_startup_s": round(piped.startup, 3),
        "pipeline_over_raw_sequential": round(piped.seconds / sequential, 3),
        "pipeline_over_raw_parallel": round(piped.seconds / parallel, 3),
        "raw_runs": {"sequential_s": [round(t, 3) for t in sequential_runs],
                     "parallel_s": [round(t, 3) for t in parallel_runs]},
    }
    print(json.dumps(figures, indent=2) if args.json else report(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
