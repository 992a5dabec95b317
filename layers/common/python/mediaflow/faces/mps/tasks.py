"""ProcessMedia tasks (the MPS JSON face): the same machinery as a job — one execution in the bucket's
media queue, one job per subtask, one state machine — with the task's own ids, dedup and views."""

from __future__ import annotations

from typing import Any

from ... import config, ids
from ...control import buckets
from ...control.jobs import created_key, get_execution, job_key, jobs_of, put_job
from ...control.queues import enqueue, ensure_queues, wake
from ...control.submit import cancel_execution
from ...control.templates import build_operation
from ...exceptions import (
    DeliveryError,
    InvalidInputError,
    NotFoundError,
    UnsafeUrlError,
)
from ...models import Execution, Job, JobInput, Model
from ...notify.targets import check_target
from ...notify.urls import check_callback_url, loopback_allowed
from ...persistence import store
from ...persistence.storage import object_exists
from ...shapes import mps, mps_tasks
from ...times import now
from ..keys import UNAUTHORISED, ApiKey, require
from . import schedules
from .plan import TaskPlan, plan_task
from .templates import custom_preset



class Session(Model):
    SessionId: str
    TaskId: str


def process_media(body: dict[str, Any], *, default_bucket: str, media_queue_url: str,
                  api_key: ApiKey | None = None) -> str:
    """Validate a ProcessMedia request and queue its task; the TaskId comes back at once. With a
    ScheduleId, the schedule runs on the input instead."""
    if isinstance(body, dict) and body.get("ScheduleId") is not None:
        return schedules.run(body, api_key)
    return queue_task(plan_task(body, custom_preset), default_bucket=default_bucket, media_queue_url=media_queue_url,
                      api_key=api_key)


def queue_task(plan: TaskPlan, *, default_bucket: str, media_queue_url: str, api_key: ApiKey | None = None) -> str:
    """Queue a planned task (ProcessMedia's, EditMedia's); its TaskId. A SessionId seen before returns
    the task it started, instead of a second one.

    Every check comes before the first write (the records' sizes included), so a refused request
    writes nothing; should a write still fail, the jobs already written are taken back."""
    region = plan.region or config.region()
    if plan.url:
        try:
            check_callback_url(plan.url, allow_loopback=loopback_allowed())
        except (UnsafeUrlError, DeliveryError) as error:  # refused, or its name does not resolve
            raise InvalidInputError(f"InputInfo.UrlInputInfo.Url: {error.message}", code="InvalidParameterValue") from error
        bucket, key = plan.output_bucket or default_bucket, None
        buckets.require_served(bucket, "OutputStorage")  # the URL's object is imported there
    else:
        bucket, key = plan.bucket or default_bucket, plan.key or ""
        _may_submit(api_key, bucket)  # before anything is looked up in it
        buckets.require_served(bucket, "InputInfo")
        if not object_exists(bucket, key):
            raise InvalidInputError(f"InputInfo: object {key} does not exist in bucket {bucket}",
                                    code="InvalidParameterValue")
    task_id = mps.task_id()
    key = key or f"imports/{task_id}/{plan.url_name}"
    output_bucket = plan.output_bucket or bucket
    buckets.require_served(output_bucket, "OutputStorage")
    for named in (bucket, output_bucket):
        _may_submit(api_key, named)
    if plan.notify:
        check_target(plan.notify)
    operations = [build_operation(sub.tag, sub.operation, default_bucket=output_bucket, default_region=region)
                  for sub in plan.subtasks]
    queue = ensure_queues(bucket)["media"]
    created = now()
    job_ids = [ids.new_id(ids.JOB) for _ in operations]
    jobs = [Job(JobId=job_id, Tag=sub.tag, State="Pause" if queue.State == "Paused" else "Submitted",
                CreationTime=created, QueueId=queue.QueueId, Input=JobInput(BucketId=bucket, Object=key, Region=region),
                Operation=operation, execution_id=task_id)
            for job_id, sub, operation in zip(job_ids, plan.subtasks, operations)]
    task = plan.task_info(task_id, job_ids).model_dump(mode="json")
    if plan.url:
        task["import_url"] = plan.url
    execution = Execution(id=task_id, queue_id=queue.QueueId, bucket=bucket, priority=plan.priority, job_ids=job_ids,
                          created=created, object=key, notify=plan.notify, task=task)
    for record in (*jobs, execution):  # every record fits before the first is written
        store.check_size(record, "the task")
    if plan.session_id:
        if not store.put_new(f"SESSION#{plan.session_id}", "SESSION", Session(SessionId=plan.session_id, TaskId=task_id)):
            return store.must_get(f"SESSION#{plan.session_id}", "SESSION", Session)[0].TaskId
    written: list[Job] = []
    try:
        for job in jobs:
            put_job(job)
            written.append(job)
        enqueue(execution, gsi2pk=mps.TASKS, gsi2sk=created_key(created, task_id))
    except Exception:
        # Not queued: nothing would ever run or end these jobs, so they go, with the session they claimed.
        for job in written:
            store.delete(*job_key(job.JobId))
        if plan.session_id:
            store.delete(f"SESSION#{plan.session_id}", "SESSION")
        raise
    wake(media_queue_url, queue)
    return task_id


def _may_submit(api_key: ApiKey | None, bucket: str) -> None:
    if api_key is not None:
        require(api_key, "submit", bucket, code=UNAUTHORISED)


def _task(task_id: str, api_key: ApiKey | None) -> Execution:
    """A task's execution; a task of a bucket the key does not open does not exist for it."""
    try:
        execution = get_execution(task_id) if mps.is_task_id(task_id) else None
    except NotFoundError:
        execution = None
    if execution is None or execution.task is None or (api_key is not None and not api_key.sees(execution.bucket)):
        raise InvalidInputError(f"TaskId: {task_id} does not exist", code="ResourceNotFound.TaskNotExist")
    return execution


def describe_task(task_id: str, api_key: ApiKey | None = None) -> dict[str, Any]:
    execution = _task(task_id, api_key)
    return mps_tasks.task_detail(execution, jobs_of(execution), execution.task or {})


def abort_task(task_id: str, api_key: ApiKey | None = None) -> None:
    """ManageTask Abort: a task that has not started ends, never runs, and frees nothing (it took nothing)."""
    execution = _task(task_id, api_key)
    _may_submit(api_key, execution.bucket)
    try:
        cancel_execution(execution.id, f"task {task_id}")
    except InvalidInputError as error:
        raise InvalidInputError(f"TaskId: {error.message}; only a WAITING task can be aborted",
                                code="FailedOperation.InvalidTaskStatus") from error


def describe_tasks(*, status: str | None, limit: int, scroll_token: str | None,
                   api_key: ApiKey | None = None) -> dict[str, Any]:
    """The newest tasks first, of the buckets the key opens."""
    if status not in (None, "", "WAITING", "PROCESSING", "FINISH"):
        raise InvalidInputError("Status: WAITING, PROCESSING or FINISH", code="InvalidParameterValue")
    page = store.query_page("gsi2", mps.TASKS, Execution, size=limit, ascending=False, after=scroll_token or None,
                            keep=lambda e: (not status or mps.task_status(e) == status)
                            and (api_key is None or api_key.sees(e.bucket)))
    return {"TaskSet": [mps_tasks.task_summary(e, jobs_of(e), e.task or {}) for e in page.items],
            "ScrollToken": page.next_token, "TotalCount": len(page.items)}
