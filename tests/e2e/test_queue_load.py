"""Pause and resume under load on the whole local stack: 50 real jobs, the queue paused while they
run, every job ends exactly once (outputs, callbacks and Step Functions executions counted)."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import xmltodict
from mediaflow.control import submit
from mediaflow.control.jobs import get_job
from mediaflow.control.queues import ensure_queues, figures, update_queue
from mediaflow.local.demo import CallbackReceiver
from support import make_video

pytestmark = [pytest.mark.e2e, pytest.mark.slow]  # about a minute of 50 jobs: `make test-slow`
JOBS = 50
BUDGET = 300  # seconds for all of them to end


def test_fifty_jobs_paused_midway_and_resumed_each_end_exactly_once(local_stack, tmp_path) -> None:
    bucket = f"load-{time.time_ns()}"
    s3, sfn = local_stack.client("s3"), local_stack.client("stepfunctions")
    s3.create_bucket(Bucket=bucket)
    s3.upload_file(str(make_video(tmp_path / "tiny.mp4", seconds=1, size="160x90", audio=False)), bucket, "in/tiny.mp4")
    queue = ensure_queues(bucket)["media"]
    media_queue_url = local_stack.outputs["MediaQueueUrl"]

    def set_queue(state: str) -> None:
        update_queue(bucket, "media", queue.QueueId, {"Name": "queue-1", "State": state, "MaxConcurrent": 4},
                     queue_url=media_queue_url)

    receiver = CallbackReceiver()
    body = {"Tag": "Snapshot", "Input": {"Object": "in/tiny.mp4"}, "CallBack": receiver.url,
            "Operation": {"Snapshot": {"Mode": "Interval", "Start": "0", "Count": "1", "Width": "128"},
                          "Output": {"Bucket": bucket, "Object": "out/${Jobid}-${Number}.jpg"}}}

    def create(_: int) -> str:
        return submit.create_jobs(bucket, body, output_bucket=bucket, queue_url=media_queue_url)[0].JobId

    try:
        set_queue("Active")
        with ThreadPoolExecutor(4) as pool:
            first = list(pool.map(create, range(JOBS // 2)))
            set_queue("Paused")  # while the first half runs
            second = list(pool.map(create, range(JOBS // 2, JOBS)))
        job_ids = first + second
        assert {get_job(j).State for j in second} == {"Pause"}

        time.sleep(3)  # whatever was running when paused finishes; nothing new starts
        held = {j: get_job(j).State for j in job_ids}
        assert "Submitted" not in held.values()
        time.sleep(3)
        started_while_paused = [j for j in job_ids if get_job(j).State != "Pause" and held[j] == "Pause"]
        assert started_while_paused == []
        assert figures(queue.QueueId).Waiting == sum(s == "Pause" for s in held.values()) > 0

        set_queue("Active")
        deadline = time.monotonic() + BUDGET
        while time.monotonic() < deadline and len({r["body"] for r in receiver.received}) < JOBS:
            time.sleep(1)
    finally:
        set_queue("Active")
        receiver.stop()

    states = {j: get_job(j).State for j in job_ids}
    assert set(states.values()) == {"Success"}, {s: sum(v == s for v in states.values()) for s in set(states.values())}
    called_back = [xmltodict.parse(r["body"])["Response"]["JobsDetail"]["JobId"] for r in receiver.received]
    assert sorted(called_back) == sorted(job_ids)  # one callback per job, none twice
    outputs = s3.list_objects_v2(Bucket=bucket, Prefix="out/")["Contents"]
    assert sorted(o["Key"] for o in outputs) == sorted(f"out/{j}-0.jpg" for j in job_ids)
    machine = local_stack.outputs["StateMachineArn"]
    ran = [e["name"] for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=machine)
           for e in page["executions"] if e["name"] in states]
    assert sorted(ran) == sorted(job_ids)  # started once each
    assert figures(queue.QueueId).model_dump() == {"Waiting": 0, "Running": 0, "DoneLastHour": JOBS}
