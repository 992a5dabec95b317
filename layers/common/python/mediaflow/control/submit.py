"""Jobs submitted through the API (CreateMediaJobs, and its speech and document twins): validated as a
whole, then one queued execution per operation, so that each job has its own priority and can be
cancelled on its own."""

from __future__ import annotations

from typing import Any, Literal

from botocore.exceptions import ClientError
from pydantic import Field, ValidationError, field_validator

from .. import aws, config, ids
from ..exceptions import InvalidInputError, MediaflowError, NotFoundError
from ..models import (
    FINAL_STATES,
    MAX_KEY,
    MAX_URL,
    Execution,
    Feature,
    Job,
    JobInput,
    Model,
    MqConfig,
    NotifyConfig,
    Operation,
    Queue,
)
from ..notify.targets import check_target
from ..persistence import store
from ..times import now
from . import buckets
from .jobs import exec_key, get_job, job_key, put_job
from .queues import enqueue, ensure_queues, wake
from .templates import FEATURE_TAGS, build_operation

MAX_OPERATIONS = 6
MAX_CANCEL = 10
JOB_ID_PREFIX: dict[Feature, str] = {"media": ids.JOB, "speech": ids.SPEECH_JOB, "doc": ids.DOC_JOB}


class RequestInput(Model):
    Object: str | None = Field(None, max_length=MAX_KEY)
    Url: str | None = Field(None, max_length=MAX_URL)


class JobsRequest(Model):
    """The <Request> of CreateMediaJobs."""

    Tag: str
    Input: RequestInput
    Operation: list[dict[str, Any]]
    QueueId: str | None = None
    QueueType: str | None = None
    CallBack: str | None = Field(None, max_length=MAX_URL)
    CallBackFormat: Literal["XML", "JSON"] | None = None
    CallBackType: Literal["Url", "TDMQ"] | None = None
    CallBackMqConfig: MqConfig | None = None

    @field_validator("Operation", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        if value in (None, ""):  # <Operation/>: a MediaInfo job needs nothing more
            return [{}]
        return [value] if isinstance(value, dict) else value

    @field_validator("QueueId", "QueueType", "CallBack", "CallBackFormat", "CallBackType", "CallBackMqConfig", mode="before")
    @classmethod
    def _blank(cls, value: Any) -> Any:
        return None if value == "" else value


def parse_jobs_request(request: dict[str, Any], tags: tuple[str, ...]) -> JobsRequest:
    try:
        parsed = JobsRequest.model_validate(request)
    except ValidationError as error:
        first = error.errors()[0]
        raise InvalidInputError(f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}") from error
    if parsed.Tag not in tags:
        raise InvalidInputError(f"Tag: {parsed.Tag!r} is not supported here (supported: {', '.join(tags)})")
    if not 1 <= len(parsed.Operation) <= MAX_OPERATIONS:
        raise InvalidInputError(f"Operation: between 1 and {MAX_OPERATIONS} operations, not {len(parsed.Operation)}")
    if not parsed.Input.Object:
        raise InvalidInputError("Input.Object is required: the key of an object in the bucket")
    if parsed.CallBack and parsed.CallBack != "no" and not parsed.CallBack.startswith(("http://", "https://")):
        raise InvalidInputError("CallBack: an http(s) URL, or 'no' to send no callback")
    return parsed


def callback_rule(request: JobsRequest, queue: Queue) -> NotifyConfig:
    """The job's callback: its own CallBack* fields win over the queue's rule; CallBack=no sends none."""
    if request.CallBack == "no":
        return NotifyConfig(State="Off")
    if request.CallBack or request.CallBackType == "TDMQ":
        mq = request.CallBackMqConfig or MqConfig()
        if request.CallBackType == "TDMQ" and not mq.MqName:
            raise InvalidInputError("CallBackMqConfig.MqName is required when CallBackType is TDMQ")
        return NotifyConfig(State="On", Type=request.CallBackType or "Url", Url=request.CallBack, Event="TaskFinish",
                            ResultFormat=request.CallBackFormat or queue.NotifyConfig.ResultFormat,
                            MqMode=mq.MqMode, MqRegion=mq.MqRegion, MqName=mq.MqName)
    rule = queue.NotifyConfig.model_copy()
    if request.CallBackFormat:
        rule.ResultFormat = request.CallBackFormat
    return rule


def _check_object(bucket: str, key: str) -> None:
    try:
        aws.client("s3").head_object(Bucket=bucket, Key=key)
    except ClientError as error:
        raise InvalidInputError(f"Input.Object: {key} does not exist in bucket {bucket}") from error


def create_jobs(bucket: str, body: dict[str, Any], *, output_bucket: str, queue_url: str,
                feature: Feature = "media") -> list[Job]:
    """Validate every operation, then create and queue one job per operation on the bucket's queue of
    `feature` (whose tickets go to `queue_url`). Nothing is written unless the whole request is valid,
    the size of every record included; should a write still fail, what was written is taken back."""
    buckets.require_served(bucket, "the request's bucket")
    request = parse_jobs_request(body, FEATURE_TAGS[feature])
    region = config.region()
    queue_id = ids.stable_id(ids.QUEUE, bucket, feature)
    if request.QueueId and request.QueueId != queue_id:
        raise InvalidInputError(f"QueueId: {request.QueueId} is not the {feature} queue of bucket {bucket}")
    operations: list[Operation] = []
    for index, spec in enumerate(request.Operation):
        where = f"Operation[{index}]" if len(request.Operation) > 1 else "Operation"
        try:
            operation = build_operation(request.Tag, spec, default_bucket=output_bucket, default_region=region)
        except InvalidInputError as error:
            raise InvalidInputError(f"{where}: {error.message}") from error
        if operation.Output.Bucket:
            buckets.require_served(operation.Output.Bucket, f"{where}.Output.Bucket")
        operations.append(operation)
    _check_object(bucket, request.Input.Object)
    queue = ensure_queues(bucket)[feature]
    notify = callback_rule(request, queue)
    check_target(notify)
    created = now()
    jobs, executions = [], []
    for operation in operations:
        job_id = ids.new_id(JOB_ID_PREFIX[feature])
        jobs.append(Job(JobId=job_id, Tag=request.Tag, State="Pause" if queue.State == "Paused" else "Submitted",
                        CreationTime=created, QueueId=queue.QueueId,
                        Input=JobInput(BucketId=bucket, Object=request.Input.Object, Region=region),
                        Operation=operation, execution_id=job_id, notify=notify))
        executions.append(Execution(id=job_id, queue_id=queue.QueueId, feature=feature, bucket=bucket,
                                    priority=operation.JobLevel, job_ids=[job_id], created=created,
                                    object=request.Input.Object, notify=notify))
    for record in (*jobs, *executions):  # every record fits before the first is written
        store.check_size(record, "the job")
    queued = 0
    try:
        for job, execution in zip(jobs, executions):
            put_job(job)
            enqueue(execution)
            queued += 1
    except Exception:
        _take_back(jobs, queued)
        raise
    wake(queue_url, queue)
    return jobs


def _take_back(jobs: list[Job], queued: int) -> None:
    """A request whose writes failed half way, for the caller to send again: the jobs it queued are
    cancelled (unless one has started already) and the one written without its execution goes."""
    for job in jobs[:queued]:
        try:
            cancel_execution(job.execution_id, f"job {job.JobId}")
        except MediaflowError:
            pass
    if queued < len(jobs):
        store.delete(*job_key(jobs[queued].JobId))


def cancel_jobs(bucket: str, job_ids: list[str]) -> None:
    """Cancel jobs that have not started: their execution leaves its queue's order for good.
    A job of a workflow run cancels the run it belongs to."""
    if not 1 <= len(job_ids) <= MAX_CANCEL:
        raise InvalidInputError(f"between 1 and {MAX_CANCEL} job ids, not {len(job_ids)}")
    jobs = [get_job(job_id) for job_id in job_ids]
    for job_id, job in zip(job_ids, jobs):
        if job is None or job.Input.BucketId != bucket:
            raise NotFoundError(f"job {job_id} does not exist")
    for job in filter(None, jobs):
        try:
            cancel_execution(job.execution_id, f"job {job.JobId}")
        except NotFoundError as error:  # a job never queued: no execution (whose key is not for callers)
            raise NotFoundError(f"job {job.JobId} cannot be cancelled: it was never queued") from error


def cancel_execution(execution_id: str, what: str) -> None:
    """End an execution that has not started (it never runs, and took no slot), and its jobs, as Cancel."""
    for _ in range(20):
        execution, version = store.must_get(*exec_key(execution_id), Execution)
        if execution.state == "Cancel":
            return
        if execution.state != "Submitted":
            shown = "Running" if execution.state == "Running" else execution.state
            raise InvalidInputError(f"{what} is {shown}: only what has not started can be cancelled",
                                    code="InvalidJobState")
        execution.state, execution.ended = "Cancel", now()
        try:  # conditional on the version, so a claim that gets there first wins and this one retries
            store.replace(*exec_key(execution.id), execution, version, state="Cancel", remove=("gsi1pk", "gsi1sk"))
            break
        except store.ConflictError:
            continue
    else:
        raise InvalidInputError(f"{what} is changing too fast to cancel; try again")
    for job_id in execution.job_ids:
        def cancelled(doc: Job) -> None:
            if doc.State not in FINAL_STATES:
                doc.State, doc.EndTime, doc.Message = "Cancel", execution.ended, "cancelled before it started"

        store.mutate(*job_key(job_id), Job, cancelled)
