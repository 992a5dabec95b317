"""Throughput of the dispatch path on the local stack: uploads -> queued runs -> started runs.

On the local stack (emulator + local Lambda workers, from template.yaml), with a one-node workflow
(one Snapshot of a tiny 1 s 64x64 clip) bound to the input bucket, so that the media work is
negligible and the figures are about the dispatch path itself:

1. queued: the media queue is paused, N objects are uploaded at once from a thread pool, and the
   clock runs from the first upload until N runs wait in the queue's ordered backlog (the S3
   notification -> Dispatcher -> job and execution records -> claim ticket path), and until the
   Processor has consumed every claim ticket (no-ops while paused);
2. started: MaxConcurrent is N (or --max-concurrent), the queue is resumed
   (mediaflow.control.queues.update_queue, what the UpdateMediaQueue API calls), and the clock runs from
   the resume call until every run is claimed out of the backlog, and until every run's job has
   its StartTime (set by the Processor once Step Functions accepted the execution);
3. finished (secondary): from the resume call until every run has ended, and how many in Success.

Usage: .venv/bin/python bench/dispatch.py [--count N] [--max-concurrent M] [--timeout S] [--json]
(or `make bench-dispatch [COUNT=N]`). Exits non-zero if not all runs were queued, claimed or
started within --timeout (each phase); the figures reached so far are printed either way.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from mediaflow import aws, config
from mediaflow.control.jobs import exec_key
from mediaflow.control.queues import DONE, update_queue, waiting_key
from mediaflow.control.workflows import create_workflow, parse_workflow_xml
from mediaflow.ids import QUEUE, stable_id
from mediaflow.local.runtime import LocalRuntime
from mediaflow.models import Execution, Job
from mediaflow.persistence import store

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "template.yaml"
FFMPEG = ROOT / "layers" / "ffmpeg" / "bin" / "ffmpeg"
PREFIX = "bench-dispatch/"
UPLOAD_THREADS = 16
POLL_SECONDS = 0.2  # the poller shares the process (and the GIL) with the emulator: not too often

# One processing node, so that a run costs one plan, one unit and one finish: the media work is tiny.
WORKFLOW = f"""<Request><MediaWorkflow>
  <Name>bench-dispatch</Name><State>Active</State>
  <Topology>
    <Dependencies><Start>Snapshot_1</Start><Snapshot_1>End</Snapshot_1></Dependencies>
    <Nodes>
      <Start><Type>Start</Type><Input>
        <ObjectPrefix>{PREFIX}</ObjectPrefix>
        <ExtFilter><State>On</State><Video>true</Video></ExtFilter>
      </Input></Start>
      <Snapshot_1><Type>Snapshot</Type><Operation>
        <Snapshot><Mode>Interval</Mode><Count>1</Count></Snapshot>
        <Output><Object>${{InputPath}}/${{InputName}}_snap_${{Number}}.jpg</Object></Output>
      </Operation></Snapshot_1>
    </Nodes>
  </Topology>
</MediaWorkflow></Request>"""


def tiny_clip(target: Path) -> bytes:
    """A 1 s 64x64 H.264 mp4, made once with the layer's ffmpeg; every upload sends these bytes."""
    subprocess.run(
        [str(FFMPEG), "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
         "testsrc=size=64x64:rate=25:duration=1", "-c:v", "libx264", "-pix_fmt", "yuv420p", str(target)],
        check=True,
    )
    return target.read_bytes()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe_socket:
        probe_socket.bind(("127.0.0.1", 0))
        return probe_socket.getsockname()[1]


def point_library_at(endpoint: str, table: str, input_bucket: str) -> None:
    """The bench reads and changes the stack through the library, as the functions do."""
    os.environ.update(TABLE_NAME=table, INPUT_BUCKET=input_bucket, AWS_ENDPOINT_URL=endpoint, AWS_DEFAULT_REGION="us-east-1",
                      AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
    config.table_name.cache_clear()
    aws.reset()


def wait_for(count: Callable[[], int], target: int, since: float, timeout: float) -> tuple[float | None, int]:
    """Seconds from `since` until count() reaches `target` (None if not within `timeout`), and the last count."""
    while True:
        seen = count()
        now = time.monotonic()
        if seen >= target:
            return now - since, seen
        if now - since > timeout:
            return None, seen
        time.sleep(POLL_SECONDS)


def warm_dispatcher(runtime: LocalRuntime, function_name: str) -> None:
    """Start the Dispatcher's whole worker pool before the clock runs, so that the queued phase
    measures warm throughput rather than worker start-ups (seconds each on a small machine). An
    empty S3 event does nothing; concurrent ones each find no idle worker and start their own."""
    client = runtime.client("lambda", read_timeout=120)
    with ThreadPoolExecutor(runtime.concurrency) as pool:
        replies = list(pool.map(lambda _: client.invoke(FunctionName=function_name, Payload=b'{"Records": []}'),
                                range(runtime.concurrency)))
    failed = [reply["Payload"].read() for reply in replies if reply.get("FunctionError")]
    if failed:
        sys.exit(f"warming the Dispatcher failed: {failed[0][:500]!r}")


def say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def bind_workflows(bucket: str, levels: list[int]) -> list[str]:
    """The workflows the uploads run, and the key prefix of each: one COS workflow, or one MPS workflow
    per TaskPriority level (a one-snapshot task each), enabled."""
    if not levels:
        create_workflow(bucket, parse_workflow_xml(WORKFLOW))
        return [PREFIX]
    from mediaflow.faces.mps import workflows as mps_workflows

    prefixes = []
    for level in levels:
        prefix = f"bench-burst/p{level}/"
        created = mps_workflows.create({
            "WorkflowName": f"bench-priority-{level}", "TaskPriority": level,
            "Trigger": {"Type": "CosFileUpload", "CosFileUploadTrigger": {"Bucket": bucket, "Region": "us-east-1",
                                                                          "Dir": f"/{prefix}"}},
            "MediaProcessTask": {"SnapshotByTimeOffsetTaskSet": [{"Definition": 10, "ExtTimeOffsetSet": ["0s"]}]}}, None)
        mps_workflows.switch("Active")({"WorkflowId": created["WorkflowId"]}, None)
        prefixes.append(prefix)
    return prefixes


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(fraction * len(ordered)))], 3)


def start_figures(runs: list[Execution], uploaded: dict[str, float]) -> dict[str, Any]:
    """Upload -> start latency percentiles (wall clock of this machine on both sides) and whether the
    start order (start_seq) is priority first: every run waited when the queue was resumed."""
    latency = [run.started.timestamp() - uploaded[run.object] for run in runs if run.started and run.object in uploaded]
    by_start = sorted(runs, key=lambda run: run.start_seq or 0)
    priorities = [run.priority for run in by_start]
    return {"upload_to_start_p50_s": percentile(latency, 0.50), "upload_to_start_p95_s": percentile(latency, 0.95),
            "upload_to_start_p99_s": percentile(latency, 0.99), "upload_to_start_s": sorted(round(x, 3) for x in latency),
            "started_by_priority": priorities == sorted(priorities, reverse=True),
            "runs_per_priority": {str(level): priorities.count(level) for level in sorted(set(priorities))}}


def measure(count: int, max_concurrent: int, timeout: float, clip: bytes, levels: list[int] | None = None) -> dict[str, Any]:
    """The figures of one run on a fresh stack; `error` is set when a phase did not complete in time."""
    figures: dict[str, Any] = {"count": count, "max_concurrent": max_concurrent, "cpu_count": os.cpu_count(),
                               "timeout_s": timeout}
    runtime = LocalRuntime(port=free_port()).start()
    figures["workers_per_function"] = runtime.concurrency
    try:
        launched = time.monotonic()
        stack = runtime.up(TEMPLATE)
        bucket, queue_url = stack.outputs["InputBucketName"], stack.outputs["MediaQueueUrl"]
        point_library_at(runtime.endpoint, stack.outputs["TableName"], bucket)
        prefixes = bind_workflows(bucket, levels or [])
        # Paused first, so that the runs pile up in the backlog; MaxConcurrent set now, so that the
        # resume below is the only change the started phase times.
        queue_id = stable_id(QUEUE, bucket, "media")
        update_queue(bucket, "media", queue_id, {"Name": "queue-1", "State": "Paused", "MaxConcurrent": max_concurrent},
                     queue_url=queue_url)
        warm_dispatcher(runtime, stack.resources["DispatchFunction"])
        figures["stack_startup_s"] = round(time.monotonic() - launched, 3)
        say(f"stack up in {figures['stack_startup_s']:.1f}s; workflows on "
            f"{', '.join(f's3://{bucket}/{prefix}' for prefix in prefixes)}, queue {queue_id} paused")

        def backlog() -> int:
            return store.count("gsi1", waiting_key(queue_id))

        def jobs_started() -> int:
            # One job per run (one node), and only these in the bucket: one query of the bucket's job
            # listing, not 2N reads, as the poller competes with the emulator for this process.
            # A job's StartTime is set by the Processor once Step Functions accepted the execution.
            return len(store.query_page("gsi2", f"BUCKET#{bucket}#JOBS", Job, size=count,
                                        keep=lambda job: job.StartTime is not None).items)

        def ended() -> int:
            return store.count("gsi1", f"QUEUE#{queue_id}#{DONE}")

        def phase(name: str, count_of: Callable[[], int], since: float) -> bool:
            """Wait for all `count` runs to reach a phase; record its time (None if not in time) and count."""
            seconds, seen = wait_for(count_of, count, since, timeout)
            figures[f"{name}_s"], figures[name] = (round(seconds, 3) if seconds is not None else None), seen
            if seconds is not None:
                figures[f"{name}_per_s"] = round(count / seconds, 2)
            return seconds is not None

        # 1. uploads -> queued runs
        s3 = runtime.client("s3")
        keys = [f"{prefixes[i % len(prefixes)]}clip-{i:05d}.mp4" for i in range(count)]
        say(f"uploading {count} objects from {UPLOAD_THREADS} threads ...")
        uploaded: dict[str, float] = {}

        def upload(key: str) -> None:
            s3.put_object(Bucket=bucket, Key=key, Body=clip, ContentType="video/mp4")
            uploaded[key] = time.time()

        first_upload = time.monotonic()
        with ThreadPoolExecutor(UPLOAD_THREADS) as pool:
            list(pool.map(upload, keys))
        figures["upload_calls_s"] = round(time.monotonic() - first_upload, 3)
        if not phase("queued", backlog, first_upload):
            figures["error"] = f"only {figures['queued']} of {count} runs queued within {timeout:g}s"
            return figures
        run_ids = [e.id for e in store.query_index(waiting_key(queue_id), Execution)]
        # The Dispatcher sent a claim ticket per run; the Processor consumes them as no-ops while the
        # queue is paused. Resume only once they are gone, so that the resume phase times the
        # resume's own ticket, not leftovers racing the resume call.
        sqs = runtime.client("sqs")

        def tickets_consumed() -> int:
            attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=[
                "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
            return count - sum(int(value) for value in attributes.values())

        if not phase("tickets_consumed", tickets_consumed, first_upload):
            figures["error"] = f"claim tickets still in the media queue {timeout:g}s after the first upload"
            return figures

        # 2. resume -> runs claimed (out of the backlog) -> runs started (Step Functions took them)
        say(f"{count} runs queued in {figures['queued_s']:.2f}s; resuming the queue ...")
        resume_at = time.monotonic()
        update_queue(bucket, "media", queue_id, {"Name": "queue-1", "State": "Active"}, queue_url=queue_url)
        figures["resume_call_s"] = round(time.monotonic() - resume_at, 3)
        if not phase("claimed", lambda: count - backlog(), resume_at):
            figures["started"] = jobs_started()
            figures["error"] = (f"only {figures['claimed']} of {count} runs claimed, {figures['started']} started, "
                                f"within {timeout:g}s of the resume (see the ProcessFunction log in {runtime.log_dir})")
            return figures
        if not phase("started", jobs_started, resume_at):
            # Claimed but not started: an invocation of the Processor died between claim and start.
            figures["error"] = (f"all {count} runs claimed but only {figures['started']} started within {timeout:g}s "
                                f"of the resume (see the ProcessFunction log in {runtime.log_dir})")
            return figures

        # 3. (secondary) resume -> runs ended
        say(f"{count} runs started {figures['started_s']:.2f}s after the resume; waiting for them to end ...")
        phase("ended", ended, resume_at)
        runs = [store.must_get(*exec_key(run_id), Execution)[0] for run_id in run_ids]
        figures["success"] = [run.state for run in runs].count("Success")
        figures |= start_figures(runs, uploaded)
        return figures
    finally:
        runtime.stop()


def report(f: dict[str, Any]) -> str:
    n = f["count"]

    def took(name: str) -> str | None:
        if name not in f:
            return None  # the phase was not reached
        if f"{name}_s" not in f:
            return f"{f[name]} of {n} (not timed)"
        if f[f"{name}_s"] is None:
            return f"{f[name]} of {n} within {f['timeout_s']:g} s"
        return f"{f[f'{name}_s']:.2f} s  ({f[f'{name}_per_s']:.1f}/s)"

    rows = [
        (f"{n} uploads -> runs queued", took("queued")),
        ("  of which the PutObject calls", f"{f['upload_calls_s']:.2f} s" if "upload_calls_s" in f else None),
        (f"{n} uploads -> tickets consumed", took("tickets_consumed")),
        ("resume call (update_queue)", f"{f['resume_call_s']:.2f} s" if "resume_call_s" in f else None),
        ("resume -> runs claimed", took("claimed")),
        ("resume -> runs started", took("started")),
        ("resume -> runs ended", took("ended")),
        ("ended in Success", f"{f['success']} of {n}" if "success" in f else None),
        ("upload -> start p50 / p95 / p99", f"{f['upload_to_start_p50_s']:.2f} / {f['upload_to_start_p95_s']:.2f} / "
                                            f"{f['upload_to_start_p99_s']:.2f} s" if "upload_to_start_p50_s" in f else None),
        ("started by priority", f"{f['started_by_priority']} {f['runs_per_priority']}" if "started_by_priority" in f else None),
        ("stack start-up", f"{f['stack_startup_s']:.2f} s" if "stack_startup_s" in f else None),
    ]
    rows = [(label, value) for label, value in rows if value is not None]
    width = max(len(label) for label, _ in rows)
    head = (f"dispatch path, {n} runs of a one-Snapshot workflow, MaxConcurrent {f['max_concurrent']}, "
            f"{f['workers_per_function']} workers per function, os.cpu_count() = {f['cpu_count']}")
    lines = [head, *(f"  {label:<{width}}  {value}" for label, value in rows)]
    if "error" in f:
        lines.append(f"FAILED: {f['error']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=100, help="objects uploaded, so runs queued and started (default 100)")
    parser.add_argument("--max-concurrent", type=int,
                        help="the queue's MaxConcurrent while the runs start (default: --count, at most 1000); "
                             "below --count, 'started' also waits for runs to end")
    parser.add_argument("--timeout", type=float, default=300,
                        help="seconds each phase (queued, claimed, started, ended) may take (default 300)")
    parser.add_argument("--priorities", default="",
                        help="comma list of TaskPriority levels (e.g. -5,0,5): one MPS workflow per level, the "
                             "uploads spread over them; reports whether runs started by priority (default: one "
                             "COS workflow, no levels)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON instead of a table")
    args = parser.parse_args(argv)
    if args.count < 1:
        parser.error("--count must be at least 1")
    max_concurrent = args.max_concurrent or min(args.count, 1000)  # 1000: UpdateMediaQueue's upper bound
    if not 1 <= max_concurrent <= 1000:
        parser.error("--max-concurrent must be between 1 and 1000")
    if not FFMPEG.is_file():
        parser.error(f"{FFMPEG} is missing; `make install` builds it")

    with tempfile.TemporaryDirectory(prefix="mediaflow-bench-") as folder:
        clip = tiny_clip(Path(folder) / "clip.mp4")
    levels = [int(level) for level in args.priorities.split(",") if level.strip()]
    figures = measure(args.count, max_concurrent, args.timeout, clip, levels)
    print(json.dumps(figures, indent=2) if args.json else report(figures))
    return 1 if "error" in figures else 0


if __name__ == "__main__":
    sys.exit(main())
