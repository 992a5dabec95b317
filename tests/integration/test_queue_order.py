"""Queue order under concurrency, against the template's table and FIFO queue in moto.

Jobs are submitted from several threads into a paused queue, the queue is resumed, and several
Processors claim at once (the Processor handler on the real claim tickets plus direct claimers),
with tickets delivered twice. Jobs end through the real Finish step, which frees their slot and
sends the next ticket. The start order is read from the claims' sequence numbers."""

from __future__ import annotations

import functools
import os
import random
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import boto3
import pytest
from mediaflow.control import submit
from mediaflow.control.jobs import get_execution, get_job
from mediaflow.control.queues import (
    TICKET_QUEUE_SETTINGS,
    claim_next,
    ensure_queues,
    figures,
    update_queue,
    waiting,
)
from mediaflow.models import Execution, UnitResult
from mediaflow.pipeline.finish import finish
from mediaflow.pipeline.processor import Ticket, start_next
from support import LambdaContext, import_handler, serve_bucket, sqs_event

pytestmark = pytest.mark.integration
BUCKET = "order-bucket"
MP4_SD = "t04e1ab86554984f1aa17c062fbf6c007c"
THREADS, PER_THREAD = 5, 6


@pytest.fixture
def queue_id(stack, sample_video) -> str:
    s3 = boto3.client("s3")
    serve_bucket(BUCKET)
    s3.upload_file(str(sample_video), BUCKET, "in/clip.mp4")
    return ensure_queues(BUCKET)["media"].QueueId


def set_queue(queue_id: str, state: str, max_concurrent: int = 10) -> None:
    update_queue(BUCKET, "media", queue_id, {"Name": "queue-1", "State": state, "MaxConcurrent": max_concurrent},
                 queue_url=os.environ["MEDIA_QUEUE_URL"])


def submit_mixed(seed: int) -> list[list[tuple[str, int]]]:
    """THREADS threads each submit PER_THREAD jobs one after another; per thread: [(job id, level)]."""
    rng = random.Random(seed)
    levels = [[rng.choice((0, 1, 2)) for _ in range(PER_THREAD)] for _ in range(THREADS)]
    barrier = threading.Barrier(THREADS)

    def submit_all(mine: list[int]) -> list[tuple[str, int]]:
        barrier.wait()
        made = []
        for level in mine:
            body = {"Tag": "Transcode", "Input": {"Object": "in/clip.mp4"},
                    "Operation": {"TemplateId": MP4_SD, "Output": {"Object": "out/${Jobid}.mp4"}, "JobLevel": str(level)}}
            job = submit.create_jobs(BUCKET, body, output_bucket=os.environ["OUTPUT_BUCKET"],
                                           queue_url=os.environ["MEDIA_QUEUE_URL"])[0]
            made.append((job.JobId, level))
        return made

    with ThreadPoolExecutor(THREADS) as pool:
        return list(pool.map(submit_all, levels))


@functools.cache
def processor_handler(state_machine_arn: str) -> Any:
    """The Processor handler, imported once per stack (it reads its settings at import)."""
    return import_handler("process", {"TABLE_NAME": os.environ["TABLE_NAME"], "STATE_MACHINE_ARN": state_machine_arn,
                                      **{name: os.environ[name] for name in TICKET_QUEUE_SETTINGS.values()}})


def run_processors(queue_id: str, claimers: int = 3) -> None:
    """Several Processor invocations at once: the handler on the queued tickets (each delivered
    twice, as SQS may) and direct claimers."""
    sqs = boto3.client("sqs")
    url = os.environ["MEDIA_QUEUE_URL"]
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"]).get("Messages", [])
    handler = processor_handler(os.environ["STATE_MACHINE_ARN"])
    calls = [lambda: handler.handler(sqs_event(url, messages), LambdaContext())] * (2 if messages else 0)
    calls += [lambda: start(queue_id)] * claimers
    with ThreadPoolExecutor(len(calls)) as pool:
        for done in [pool.submit(call) for call in calls]:
            done.result()
    for message in messages:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def start(queue_id: str, **options: Any) -> list[str]:
    return start_next(Ticket(queue_id=queue_id), state_machine_arn=os.environ["STATE_MACHINE_ARN"],
                      queue_url=os.environ["MEDIA_QUEUE_URL"], **options)


def end(execution: Execution) -> None:
    finish(execution.id, results=[UnitResult(job_id=execution.id, kind="transcode", ok=True)],
           notify_queue_url=os.environ["NOTIFY_QUEUE_URL"])


def drain(queue_id: str, job_ids: list[str], max_concurrent: int, rng: random.Random) -> list[Execution]:
    """Claim and end jobs until all have run; checks the limit at every step. The executions by start."""
    pending = set(job_ids)
    for _ in range(len(job_ids) * 3):
        run_processors(queue_id)
        running = [e for e in map(get_execution, sorted(pending)) if e.state == "Running"]
        assert len(running) <= max_concurrent
        assert figures(queue_id).Running == len(running)
        if not running:
            break
        ended = rng.choice(running)
        end(ended)
        pending.discard(ended.id)
    executions = [get_execution(j) for j in job_ids]
    assert all(e.state == "Success" for e in executions), [e.state for e in executions]
    return sorted(executions, key=lambda e: e.start_seq or 0)


def expected_order(per_thread: list[list[tuple[str, int]]]) -> list[str]:
    """Priority, then submission: the sequence the queue gave each job when it was submitted."""
    made = [job for thread in per_thread for job in thread]
    return [j for j, _ in sorted(made, key=lambda jl: (-jl[1], get_execution(jl[0]).seq))]


def test_paused_queue_resumed_with_one_slot_starts_jobs_by_priority_then_submission(queue_id) -> None:
    set_queue(queue_id, "Paused")
    per_thread = submit_mixed(seed=4)
    job_ids = [j for thread in per_thread for j, _ in thread]
    assert len(job_ids) == 30 and {get_job(j).State for j in job_ids} == {"Pause"}
    cancelled = [per_thread[0][2][0], per_thread[3][0][0]]
    submit.cancel_jobs(BUCKET, cancelled)  # a cancelled job leaves the order
    assert figures(queue_id).Waiting == 28

    run_processors(queue_id)
    assert all(get_execution(j).state == "Submitted" for j in job_ids if j not in cancelled)  # paused: nothing starts

    set_queue(queue_id, "Active", max_concurrent=1)
    remaining = [j for j in job_ids if j not in cancelled]
    started = drain(queue_id, remaining, 1, random.Random(1))

    order = [e.id for e in started]
    assert order == [j for j in expected_order(per_thread) if j not in cancelled]
    assert len({e.start_seq for e in started}) == len(started)  # each started exactly once
    level = {j: lv for thread in per_thread for j, lv in thread}
    for thread in per_thread:  # each thread's own jobs of one level start in the order it submitted them
        for lv in (0, 1, 2):
            mine = [j for j, jl in thread if jl == lv and j not in cancelled]
            assert [j for j in order if j in mine] == mine
    assert [level[j] for j in order] == sorted((level[j] for j in order), reverse=True)
    assert {get_job(j).State for j in cancelled} == {"Cancel"}
    assert figures(queue_id).model_dump() == {"Waiting": 0, "Running": 0, "DoneLastHour": 28}


def test_with_three_slots_no_lower_priority_job_starts_while_a_higher_one_waits(queue_id) -> None:
    set_queue(queue_id, "Paused")
    per_thread = submit_mixed(seed=11)
    job_ids = [j for thread in per_thread for j, _ in thread]
    level = {j: lv for thread in per_thread for j, lv in thread}
    set_queue(queue_id, "Active", max_concurrent=3)
    started = drain(queue_id, job_ids, 3, random.Random(2))

    for position, execution in enumerate(started):
        waiting_then = started[position + 1 :]  # all were waiting since before the resume
        assert all(level[w.id] <= level[execution.id] for w in waiting_then), \
            f"{execution.id} (level {level[execution.id]}) started while a higher level waited"
    assert [e.id for e in started] == expected_order(per_thread)


def test_raising_max_concurrent_lets_more_start_without_a_redeploy(queue_id) -> None:
    set_queue(queue_id, "Paused")
    job_ids = [j for thread in submit_mixed(seed=3) for j, _ in thread][:30]
    set_queue(queue_id, "Active", max_concurrent=2)
    run_processors(queue_id)
    assert sum(get_execution(j).state == "Running" for j in job_ids) == 2
    set_queue(queue_id, "Active", max_concurrent=7)
    run_processors(queue_id)
    assert sum(get_execution(j).state == "Running" for j in job_ids) == 7
    assert figures(queue_id).model_dump() == {"Waiting": 23, "Running": 7, "DoneLastHour": 0}
    assert len(waiting(queue_id)) == 23



def test_claims_whose_start_was_lost_are_started_by_the_next_ticket(queue_id) -> None:
    set_queue(queue_id, "Paused")
    job_ids = [j for thread in submit_mixed(seed=5) for j, _ in thread]
    set_queue(queue_id, "Active", max_concurrent=30)
    lost = {e.id for e in claim_next(queue_id, limit=3)}  # a Processor that timed out right after claiming
    assert len(lost) == 3 and {get_job(j).State for j in lost} == {"Submitted"}  # claimed, never started

    first = start(queue_id)  # too soon to call those lost: only new claims, ten per ticket
    assert len(first) == 10 and not set(first) & lost
    second = start(queue_id, stalled_after=timedelta(0))
    assert lost <= set(second)
    while start(queue_id, stalled_after=timedelta(0)):
        pass
    machine = os.environ["STATE_MACHINE_ARN"]
    names = [e["name"] for page in boto3.client("stepfunctions").get_paginator("list_executions").paginate(
        stateMachineArn=machine) for e in page["executions"]]
    assert sorted(names) == sorted(job_ids)  # every job started, none twice
    assert {get_job(j).State for j in job_ids} == {"Running"}
