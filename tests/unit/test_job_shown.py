"""How a job waiting in a queue is shown: Pause while its queue is paused and it has not started."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from mediaflow.control.jobs import shown
from mediaflow.models import Job


def job(state: str, stage: int = 0) -> Job:
    return Job.model_validate({"JobId": "j" + "0" * 32, "Tag": "Transcode", "State": state, "QueueId": "q1",
                               "CreationTime": datetime(2026, 1, 1, tzinfo=timezone.utc), "execution_id": "i1",
                               "stage": stage, "Input": {"BucketId": "b", "Object": "a.mp4", "Region": "r"},
                               "Operation": {"Output": {"Bucket": "b", "Region": "r", "Object": "o.mp4"}}})


@pytest.mark.parametrize(("stored", "stage", "queue", "run", "expected"), [
    ("Submitted", 0, "Paused", "Submitted", "Pause"),
    ("Pause", 0, "Active", "Submitted", "Submitted"),  # stored while paused, the queue resumed since
    ("Submitted", 0, "Active", "Submitted", "Submitted"),
    ("Submitted", 1, "Paused", "Running", "Submitted"),  # a later stage of a run that has started
    ("Submitted", 1, "Paused", "Submitted", "Pause"),  # a later stage of a run still waiting
    ("Running", 0, "Paused", "Running", "Running"),
    ("Success", 0, "Paused", "Success", "Success"),
    ("Cancel", 0, "Paused", "Cancel", "Cancel"),
])
def test_a_waiting_job_shows_its_queues_pause(stored: str, stage: int, queue: str, run: str, expected: str) -> None:
    assert shown(job(stored, stage), lambda _: queue, lambda _: run).State == expected
