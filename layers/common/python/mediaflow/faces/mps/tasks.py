"""ProcessMedia tasks (the MPS JSON face): the same machinery as a job — one execution in the bucket's
media queue, one job per subtask, one state machine — with the task's own ids, dedup and views."""

from __future__ import annotations

import os
from typing import Any

import requests
from boto3.exceptions import S3UploadFailedError
from botocore.exceptions import ClientError, ParamValidationError

from ... import aws, config, ids
from ...control import buckets
from . import plan as mps
from ...persistence import store
from ...exceptions import DeliveryError, DownloadError, InvalidInputError, NotFoundError, UnsafeUrlError, UploadError
from ...control.jobs import created_key, get_execution, jobs_of, put_job
from ...models import Execution, Job, JobInput, Model
from ...notify.targets import check_target
from ...notify.urls import check_callback_url
from ...control.queues import enqueue, ensure_queues, send_ticket
from ...persistence.storage import MADE_BY
from ...control.templates import build_operation
from ...times import now

TASKS = "TASKS"  # the gsi2 partition listing every task, newest last
MAX_IMPORT_BYTES = 5 * 1024**3
IMPORT_TIMEOUT = (5, 60)  # connect, read (seconds)


class Session(Model):
    SessionId: str
    TaskId: str


def _exists(bucket: str, key: str) -> bool:
    try:
        aws.client("s3").head_object(Bucket=bucket, Key=key)
        return True
    except (ClientError, ParamValidationError):  # missing, or a name no bucket can have
        return False


def process_media(body: dict[str, Any], *, default_bucket: str, media_queue_url: str) -> str:
    """Validate a ProcessMedia request and queue its task; the TaskId comes back at once.
    A SessionId seen before returns the task it started, instead of a second one."""
    plan = mps.plan_task(body)
    region = plan.region or config.region()
    if plan.url:
        try:
            check_callback_url(plan.url, allow_loopback=_loopback_allowed())
        except (UnsafeUrlError, DeliveryError) as error:  # refused, or its name does not resolve
            raise InvalidInputError(f"InputInfo.UrlInputInfo.Url: {error.message}", code="InvalidParameterValue") from error
        bucket, key = plan.output_bucket or default_bucket, None
        buckets.require_served(bucket, "OutputStorage")  # the URL's object is imported there
    else:
        bucket, key = plan.bucket or default_bucket, plan.key or ""
        buckets.require_served(bucket, "InputInfo")
        if not _exists(bucket, key):
            raise InvalidInputError(f"InputInfo: object {key} does not exist in bucket {bucket}",
                                    code="InvalidParameterValue")
    task_id = mps.task_id()
    key = key or f"imports/{task_id}/{plan.url_name}"
    output_bucket = plan.output_bucket or bucket
    buckets.require_served(output_bucket, "OutputStorage")
    if plan.notify:
        check_target(plan.notify)
    operations = [build_operation(sub.tag, sub.operation, default_bucket=output_bucket, default_region=region)
                  for sub in plan.subtasks]
    if plan.session_id:
        if not store.put_new(f"SESSION#{plan.session_id}", "SESSION", Session(SessionId=plan.session_id, TaskId=task_id)):
            return store.must_get(f"SESSION#{plan.session_id}", "SESSION", Session)[0].TaskId
    queue = ensure_queues(bucket)["media"]
    created = now()
    job_ids = [ids.new_id(ids.JOB) for _ in operations]
    for job_id, sub, operation in zip(job_ids, plan.subtasks, operations):
        put_job(Job(JobId=job_id, Tag=sub.tag, State="Pause" if queue.State == "Paused" else "Submitted",
                    CreationTime=created, QueueId=queue.QueueId, Input=JobInput(BucketId=bucket, Object=key, Region=region),
                    Operation=operation, execution_id=task_id))
    task = plan.task_info(task_id, job_ids).model_dump(mode="json")
    if plan.url:
        task["import_url"] = plan.url
    enqueue(Execution(id=task_id, queue_id=queue.QueueId, bucket=bucket, priority=plan.priority, job_ids=job_ids,
                      created=created, object=key, notify=plan.notify, task=task),
            gsi2pk=TASKS, gsi2sk=created_key(created, task_id))
    send_ticket(media_queue_url, queue.QueueId)
    return task_id


def _loopback_allowed() -> bool:
    return os.environ.get("ALLOW_LOOPBACK_CALLBACKS", "false").lower() == "true"


def import_input(execution: Execution) -> None:
    """Fetch a task's URL input into its bucket, once, before it is planned. Only public addresses
    are fetched, without following redirects, and at most MAX_IMPORT_BYTES."""
    url = (execution.task or {}).get("import_url")
    if not url or _exists(execution.bucket, execution.object or ""):
        return
    check_callback_url(url, allow_loopback=_loopback_allowed())
    try:
        with requests.get(url, stream=True, timeout=IMPORT_TIMEOUT, allow_redirects=False) as response:
            if response.status_code != 200:
                raise DownloadError(f"{url} answered HTTP {response.status_code}")
            size = int(response.headers.get("Content-Length") or 0)
            if size > MAX_IMPORT_BYTES:
                raise DownloadError(f"{url} is {size} bytes, more than the {MAX_IMPORT_BYTES} a URL input may be")
            response.raw.decode_content = True
            aws.client("s3").upload_fileobj(_Capped(response.raw, MAX_IMPORT_BYTES), execution.bucket, execution.object,
                                            ExtraArgs={"ContentType": response.headers.get("Content-Type") or
                                                       "application/octet-stream", "Metadata": {MADE_BY: "import"}})
    except requests.RequestException as error:
        raise DownloadError(f"{url} could not be fetched: {error}") from error
    except (ClientError, S3UploadFailedError) as error:
        raise UploadError(f"{url} could not be imported into s3://{execution.bucket}/{execution.object}: {error}") from error


class _Capped:
    """A file-like reader that refuses to read past a limit (a server may lie about its length)."""

    def __init__(self, raw: Any, limit: int):
        self.raw, self.left = raw, limit

    def read(self, size: int = -1) -> bytes:
        chunk = self.raw.read(size if size > 0 else 1024 * 1024)
        self.left -= len(chunk)
        if self.left < 0:
            raise DownloadError(f"the URL input is larger than {MAX_IMPORT_BYTES} bytes")
        return chunk


def describe_task(task_id: str) -> dict[str, Any]:
    try:
        execution = get_execution(task_id) if mps.is_task_id(task_id) else None
    except NotFoundError:
        execution = None
    if execution is None or execution.task is None:
        raise InvalidInputError(f"TaskId: {task_id} does not exist", code="ResourceNotFound.TaskNotExist")
    return mps.describe_task_detail(execution, jobs_of(execution), execution.task)


def describe_tasks(*, status: str | None, limit: int, scroll_token: str | None) -> dict[str, Any]:
    if status not in (None, "", "WAITING", "PROCESSING", "FINISH"):
        raise InvalidInputError("Status: WAITING, PROCESSING or FINISH", code="InvalidParameterValue")
    page = store.query_page("gsi2", TASKS, Execution, size=limit, ascending=False, after=scroll_token or None,
                            keep=lambda e: not status or mps.task_status(e) == status)
    return {"TaskSet": [mps.task_summary(e, jobs_of(e), e.task or {}) for e in page.items],
            "ScrollToken": page.next_token, "TotalCount": len(page.items)}
