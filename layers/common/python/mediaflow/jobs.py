"""Job records: loading the jobs of an execution and moving them through their states."""

from __future__ import annotations

from collections.abc import Callable

from . import store
from .models import FINAL_STATES, Execution, Job
from .queues import exec_key


def job_key(job_id: str) -> tuple[str, str]:
    return f"JOB#{job_id}", "JOB"


def get_job(job_id: str) -> Job | None:
    found = store.get(*job_key(job_id), Job)
    return found[0] if found else None


def get_execution(execution_id: str) -> Execution:
    return store.must_get(*exec_key(execution_id), Execution)[0]


def jobs_of(execution: Execution) -> list[Job]:
    return [store.must_get(*job_key(job_id), Job)[0] for job_id in execution.job_ids]


def update_job(job_id: str, change: Callable[[Job], None]) -> Job:
    return store.mutate(*job_key(job_id), Job, change)


def update_execution(execution_id: str, change: Callable[[Execution], None], **attributes: object) -> Execution:
    return store.mutate(*exec_key(execution_id), Execution, change, **attributes)


def set_running(execution: Execution) -> None:
    for job_id in execution.job_ids:
        def running(job: Job) -> None:
            if job.State not in FINAL_STATES:
                job.State, job.StartTime = "Running", job.StartTime or execution.started

        update_job(job_id, running)
