"""Job records: loading the jobs of an execution and moving them through their states."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone

from ..exceptions import InvalidInputError
from ..models import FINAL_STATES, Execution, Job, Queue
from ..persistence import store

MAX_DESCRIBE = 50  # job ids in one DescribeMediaJob


def exec_key(execution_id: str) -> tuple[str, str]:
    return f"EXEC#{execution_id}", "EXEC"


def job_key(job_id: str) -> tuple[str, str]:
    return f"JOB#{job_id}", "JOB"


def queue_key(queue_id: str) -> tuple[str, str]:
    return f"QUEUE#{queue_id}", "QUEUE"


def created_key(created: datetime, record_id: str) -> str:
    """The gsi2 sort key: creation time (UTC, sortable) then id."""
    return f"{created.astimezone(timezone.utc):%Y%m%dT%H%M%S}#{record_id}"


def put_job(job: Job) -> bool:
    """Store a new job, listed by its bucket in creation order. False if it existed (a repeat)."""
    return store.put_new(*job_key(job.JobId), job, gsi2pk=f"BUCKET#{job.Input.BucketId}#JOBS",
                         gsi2sk=created_key(job.CreationTime, job.JobId))


def get_job(job_id: str) -> Job | None:
    """The job as shown (`shown`); the pipeline's own changes go through `update_job`."""
    job = _stored_job(job_id)
    return _showing()(job) if job else None


def _stored_job(job_id: str) -> Job | None:
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
    """The execution started: its first stage's jobs run now; later stages' jobs start when planned."""
    for job_id in execution.job_ids:
        def running(job: Job) -> None:
            if job.State not in FINAL_STATES and job.stage == 0:
                job.State, job.StartTime = "Running", job.StartTime or execution.started

        update_job(job_id, running)


def start_job(job_id: str, started: datetime) -> None:
    def running(job: Job) -> None:
        if job.State not in FINAL_STATES:
            job.State, job.StartTime = "Running", job.StartTime or started

    update_job(job_id, running)


def shown(job: Job, queue_state: Callable[[str], str], execution_state: Callable[[str], str]) -> Job:
    """The job as its owner sees it: one waiting in a paused queue shows State Pause, else Submitted.
    Pausing and resuming a queue change only the queue record (one write, whatever waits in it); the
    held jobs show it here, when they are read. A stage-0 job still Submitted has not started (the
    Processor marks it Running when its execution starts); a later stage's job waits with its run."""
    if job.State in ("Submitted", "Pause"):
        waiting = job.stage == 0 or job.execution_id is None or execution_state(job.execution_id) == "Submitted"
        job.State = "Pause" if waiting and queue_state(job.QueueId) == "Paused" else "Submitted"
    return job


def _showing() -> Callable[[Job], Job]:
    """`shown`, reading each queue and execution once per call."""
    queues: dict[str, str] = {}
    executions: dict[str, str] = {}

    def queue_state(queue_id: str) -> str:
        if queue_id not in queues:
            found = store.get(*queue_key(queue_id), Queue)
            queues[queue_id] = found[0].State if found else "Active"
        return queues[queue_id]

    def execution_state(execution_id: str) -> str:
        if execution_id not in executions:
            found = store.get(*exec_key(execution_id), Execution)
            executions[execution_id] = found[0].state if found else "Submitted"
        return executions[execution_id]

    return lambda job: shown(job, queue_state, execution_state)


def describe_jobs(bucket: str, job_ids: list[str]) -> tuple[list[Job], list[str]]:
    """The jobs of a bucket among `job_ids` (at most MAX_DESCRIBE, as COS allows), and the ids that
    name none (NonExistJobIds)."""
    if len(job_ids) > MAX_DESCRIBE:
        raise InvalidInputError(f"at most {MAX_DESCRIBE} job ids at once, not {len(job_ids)}")
    found, missing, show = [], [], _showing()  # each queue and run read once for all the jobs
    for job_id in job_ids:
        job = _stored_job(job_id)
        if job is None or job.Input.BucketId != bucket:
            missing.append(job_id)
        else:
            found.append(show(job))
    return found, missing


def list_jobs(bucket: str, *, tags: tuple[str, ...] = (), queue_id: str | None = None, workflow_id: str | None = None,
              input_object: str | None = None, states: set[str] | None = None, start: datetime | None = None,
              end: datetime | None = None, newest_first: bool = True, size: int = 10,
              next_token: str | None = None) -> store.Page[Job]:
    """DescribeMediaJobs: a bucket's jobs in creation order, filtered, one page at a time."""
    low = created_key(start, "") if start else "0"
    high = created_key(end, "~") if end else "~"

    show = _showing()

    def keep(job: Job) -> bool:
        show(job)  # before the State filter: a held job is listed as Pause
        return ((not tags or job.Tag in tags) and (not queue_id or job.QueueId == queue_id)
                and (not workflow_id or (job.Workflow is not None and job.Workflow.WorkflowId == workflow_id))
                and (not input_object or job.Input.Object == input_object) and (not states or job.State in states))

    return store.query_page("gsi2", f"BUCKET#{bucket}#JOBS", Job, size=size, ascending=not newest_first,
                            after=next_token, between=(low, high), keep=keep)
