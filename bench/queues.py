"""Queue operations as the backlog grows, in-process against the template's table, queues and state
machine in moto (no Lambda workers, no media work), so that the figures are about the queue code
itself: what the API's pause and resume cost with N jobs waiting, and how fast one Processor starts
them.

1. enqueue: N jobs submitted into a paused queue through CreateMediaJobs' library call
   (`submit.create_jobs`, 4 threads): jobs queued per second;
2. pause / resume with N waiting: seconds per UpdateMediaQueue call (`update_queue`), the table writes
   it made, and the State a held job shows after each (Pause, then Submitted);
3. starts: MaxConcurrent N, then the Processor's `start_next` on one ticket after another until every
   job is started (claimed, StartExecution accepted by the emulated Step Functions, its jobs Running):
   starts per second, batched (one transaction per MAX_CLAIM_BATCH claims, LAUNCH_THREADS starts in
   flight) and, on a second queue of the same size, one at a time (batch 1, one start in flight);
   the ratio of the two is the figure to compare across machines.

Usage: .venv/bin/python bench/queues.py [--count N] [--json]   (or `make bench-queues [COUNT=N]`)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from unittest import mock

import boto3
from moto import mock_aws
from moto.sqs import models as sqs_models

from mediaflow import aws, config
from mediaflow.control import queues, submit
from mediaflow.control.jobs import get_job
from mediaflow.local.deploy import deploy
from mediaflow.local.runtime import NO_INLINE_MAPPINGS, atomic_table_requests
from mediaflow.pipeline import processor
from mediaflow.models import Execution
from mediaflow.persistence import store

ROOT = Path(__file__).resolve().parents[1]
REGION = "us-east-1"
MP4_SD = "t04e1ab86554984f1aa17c062fbf6c007c"
WRITES = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}


def say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def fill(bucket: str, count: int, output_bucket: str, queue_url: str) -> float:
    """Submit `count` one-operation jobs; seconds taken."""
    body = {"Tag": "Transcode", "Input": {"Object": "in/clip.mp4"},
            "Operation": {"TemplateId": MP4_SD, "Output": {"Object": "out/${Jobid}.mp4"}}}
    began = time.monotonic()
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda _: submit.create_jobs(bucket, body, output_bucket=output_bucket, queue_url=queue_url),
                      range(count)))
    return time.monotonic() - began


def timed_update(bucket: str, queue_id: str, state: str, queue_url: str, max_concurrent: int) -> tuple[float, int]:
    """Seconds of one UpdateMediaQueue call and the table writes it made."""
    calls: Counter = Counter()
    events = store.table().meta.client.meta.events

    def count(model: Any, **_: Any) -> None:
        calls[model.name] += 1

    events.register("before-call.dynamodb", count)
    try:
        began = time.monotonic()
        queues.update_queue(bucket, "media", queue_id, {"Name": "queue-1", "State": state,
                                                        "MaxConcurrent": max_concurrent}, queue_url=queue_url)
        return time.monotonic() - began, sum(n for name, n in calls.items() if name in WRITES)
    finally:
        events.unregister("before-call.dynamodb", count)


def start_all(queue_id: str, count: int, state_machine_arn: str, queue_url: str) -> float:
    """Seconds until `count` executions are started by the Processor's logic, ticket after ticket."""
    began, started = time.monotonic(), 0
    while started < count:
        done = processor.start_next(processor.Ticket(queue_id=queue_id), state_machine_arn=state_machine_arn,
                                    queue_url=queue_url)
        if not done:
            raise RuntimeError(f"only {started} of {count} started")
        started += len(done)
    return time.monotonic() - began


def measure(count: int) -> dict[str, Any]:
    figures: dict[str, Any] = {"count": count, "cpu_count": os.cpu_count(),
                               "claim_batch": queues.MAX_CLAIM_BATCH, "launch_threads": processor.LAUNCH_THREADS}
    atomic_table_requests()  # the table is used from several threads, as on AWS
    sqs_models.Queue.lambda_event_source_mappings = NO_INLINE_MAPPINGS  # no Processor here but start_next
    for mode, batch, threads in (("batched", queues.MAX_CLAIM_BATCH, processor.LAUNCH_THREADS), ("one_at_a_time", 1, 1)):
        with mock_aws(), mock.patch.object(queues, "MAX_CLAIM_BATCH", batch), \
                mock.patch.object(processor, "MAX_CLAIM_BATCH", batch), mock.patch.object(processor, "LAUNCH_THREADS", threads):
            figures[mode] = one_round(mode, count)  # each on a fresh stack: the emulator's table grows
    figures["start_rate_ratio"] = round(figures["batched"]["starts_per_s"] / figures["one_at_a_time"]["starts_per_s"], 2)
    return figures


def one_round(mode: str, count: int) -> dict[str, Any]:
    stack = deploy(ROOT / "template.yaml", stack_name="bench", clients=lambda s: boto3.client(s, region_name=REGION),
                   parameters={"TranscribeLanguages": "none"}, cache_dir=ROOT / ".mediaflow" / "artifacts", code=False)
    out = stack.outputs
    os.environ.update(TABLE_NAME=out["TableName"], AWS_DEFAULT_REGION=REGION, OUTPUT_BUCKET=out["OutputBucketName"],
                      INPUT_BUCKET=out["InputBucketName"], MEDIA_QUEUE_URL=out["MediaQueueUrl"])
    config.table_name.cache_clear()
    aws.reset()
    queue_url, arn, bucket = out["MediaQueueUrl"], out["StateMachineArn"], out["InputBucketName"]
    boto3.client("s3", region_name=REGION).put_object(Bucket=bucket, Key="in/clip.mp4", Body=b"x")
    queue_id = queues.ensure_queues(bucket)["media"].QueueId
    timed_update(bucket, queue_id, "Paused", queue_url, count)
    say(f"{mode}: submitting {count} jobs into the paused queue ...")
    figures = {"enqueue_per_s": round(count / fill(bucket, count, out["OutputBucketName"], queue_url), 1)}
    first = store.query_index(queues.waiting_key(queue_id), Execution, limit=1)[0]
    for state in ("Active", "Paused"):  # the queue is paused: resume, then pause again
        taken, writes = timed_update(bucket, queue_id, state, queue_url, count)
        figures[f"{state.lower()}_call_s"], figures[f"{state.lower()}_writes"] = round(taken, 4), writes
    figures["held_job_shows"] = get_job(first.job_ids[0]).State
    timed_update(bucket, queue_id, "Active", queue_url, count)
    figures["resumed_job_shows"] = get_job(first.job_ids[0]).State
    say(f"{mode}: starting {count} ...")
    figures["starts_per_s"] = round(count / start_all(queue_id, count, arn, queue_url), 1)
    say(f"{mode}: {figures}")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=1000, help="jobs waiting in the queue")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    figures = measure(args.count)
    print(json.dumps(figures, indent=2) if args.json else "\n".join(f"{k}: {v}" for k, v in figures.items()))


if __name__ == "__main__":
    main()
