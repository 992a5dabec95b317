"""Queues at scale, against the template's table and FIFO queue in moto: pausing and resuming are one
write to the queue's record however many jobs wait (the held jobs show Pause when read), and claims are
decided in batches (one read of the order, one write for the slots and one for the start numbers),
in order and within MaxConcurrent, however many claimers race."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import boto3
import pytest
from mediaflow.control import submit
from mediaflow.control.jobs import get_execution, get_job, list_jobs
from mediaflow.control.queues import claim_next, ensure_queues, figures, update_queue, waiting
from mediaflow.persistence import store
from mediaflow.pipeline import processor
from support import serve_bucket

pytestmark = pytest.mark.integration
BUCKET = "scale-bucket"
MP4_SD = "t04e1ab86554984f1aa17c062fbf6c007c"
WAITING = 120
WRITES = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}


@pytest.fixture
def queue_id(stack) -> str:
    serve_bucket(BUCKET)
    boto3.client("s3").put_object(Bucket=BUCKET, Key="in/clip.mp4", Body=b"x")
    return ensure_queues(BUCKET)["media"].QueueId


@contextmanager
def table_calls() -> Iterator[Counter]:
    """The DynamoDB operations the library makes meanwhile, by name."""
    calls: Counter = Counter()
    events = store.table().meta.client.meta.events

    def count(model, **_) -> None:
        calls[model.name] += 1

    events.register("before-call.dynamodb", count)
    try:
        yield calls
    finally:
        events.unregister("before-call.dynamodb", count)


def set_queue(queue_id: str, state: str, max_concurrent: int = 10) -> None:
    update_queue(BUCKET, "media", queue_id, {"Name": "queue-1", "State": state, "MaxConcurrent": max_concurrent},
                 queue_url=os.environ["MEDIA_QUEUE_URL"])


def submit_jobs(count: int, levels: tuple[int, ...] = (0,)) -> list[str]:
    def one(index: int) -> str:
        body = {"Tag": "Transcode", "Input": {"Object": "in/clip.mp4"}, "Operation": {
            "TemplateId": MP4_SD, "Output": {"Object": "out/${Jobid}.mp4"}, "JobLevel": str(levels[index % len(levels)])}}
        return submit.create_jobs(BUCKET, body, output_bucket=os.environ["OUTPUT_BUCKET"],
                                  queue_url=os.environ["MEDIA_QUEUE_URL"])[0].JobId

    with ThreadPoolExecutor(4) as pool:
        return list(pool.map(one, range(count)))


def test_pause_and_resume_write_only_the_queue_however_many_jobs_wait(queue_id) -> None:
    job_ids = submit_jobs(WAITING)
    for state, shown in (("Paused", "Pause"), ("Active", "Submitted"), ("Paused", "Pause")):
        with table_calls() as calls:
            set_queue(queue_id, state)
        assert sum(n for name, n in calls.items() if name in WRITES) == 1, calls  # the queue's record
        assert sum(calls.values()) <= 4, calls
        assert {get_job(j).State for j in job_ids[::17]} == {shown}
        listed = list_jobs(BUCKET, states={shown}, size=WAITING).items
        assert len(listed) == WAITING and {j.State for j in listed} == {shown}
    assert claim_next(queue_id) == [] and figures(queue_id).Waiting == WAITING  # nothing starts while paused
    set_queue(queue_id, "Active", max_concurrent=3)
    started = claim_next(queue_id)
    assert [e.start_seq for e in started] == [1, 2, 3] and {e.id for e in started} <= set(job_ids)
    assert {get_job(e.id).State for e in started} == {"Submitted"}  # claimed; Running once its execution starts
    assert get_job(job_ids[-1]).State == "Submitted"


def test_claims_are_decided_in_batches_in_order_within_max_concurrent(queue_id) -> None:
    set_queue(queue_id, "Paused")
    job_ids = submit_jobs(60, levels=(0, 2, 1))
    levels = {j: get_job(j).Operation.JobLevel for j in job_ids}
    set_queue(queue_id, "Active", max_concurrent=40)
    with table_calls() as calls:
        claimed = claim_next(queue_id)
    assert len(claimed) == 40 and calls["Query"] == 2, calls  # 25 + 15: the order read once a batch
    assert calls["UpdateItem"] == 2 * 2 + 40, calls  # slots and start numbers once a batch, then each claim
    assert [e.start_seq for e in claimed] == list(range(1, 41))
    order = [int(levels[e.id]) for e in claimed]
    assert order == sorted(order, reverse=True)  # priority first
    assert int(store.get_attribute(f"QUEUE#{queue_id}", "QUEUE", "running")) == 40
    assert claim_next(queue_id) == []  # full


def test_racing_claimers_never_claim_twice_nor_beyond_max_concurrent(queue_id) -> None:
    set_queue(queue_id, "Paused")
    job_ids = submit_jobs(50, levels=(0, 1, 2))
    set_queue(queue_id, "Active", max_concurrent=30)
    with ThreadPoolExecutor(4) as pool:
        batches = list(pool.map(lambda _: claim_next(queue_id), range(4)))
    claimed = [e for batch in batches for e in batch]
    assert len(claimed) == len({e.id for e in claimed}) == 30
    assert int(store.get_attribute(f"QUEUE#{queue_id}", "QUEUE", "running")) == 30
    by_seq = sorted(claimed, key=lambda e: e.start_seq)
    assert len({e.start_seq for e in by_seq}) == 30  # one total order of claims (a lost race wastes its number)
    ranks = [-int(get_job(e.id).Operation.JobLevel) for e in by_seq]
    assert ranks == sorted(ranks)  # decided in priority order whoever claimed them
    assert {get_execution(e.id).state for e in claimed} == {"Running"} and set(job_ids) >= {e.id for e in claimed}


def test_claims_not_started_by_the_invocations_deadline_go_back_in_their_place(queue_id) -> None:
    set_queue(queue_id, "Paused")
    submit_jobs(12, levels=(0, 2))
    set_queue(queue_id, "Active", max_concurrent=20)
    order = [e.id for e in waiting(queue_id)]
    claimed = claim_next(queue_id, limit=5)
    assert processor.launch_all(claimed, os.environ["STATE_MACHINE_ARN"], deadline=0) == []  # already past
    assert [e.id for e in waiting(queue_id)] == order  # back in their places
    assert int(store.get_attribute(f"QUEUE#{queue_id}", "QUEUE", "running")) == 0
    started = processor.start_next(processor.Ticket(queue_id=queue_id), state_machine_arn=os.environ["STATE_MACHINE_ARN"],
                                   queue_url=os.environ["MEDIA_QUEUE_URL"])
    assert started == order[:10] and {get_job(j).State for j in started} == {"Running"}
