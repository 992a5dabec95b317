"""Upload events -> workflow runs: one run (and one job per processing node) per matching workflow.

S3 delivers events at least once and out of order, so every id here is derived from
bucket + key + object version (versionId, else the event sequencer, else the ETag) + workflow:
a repeated event finds its records already there and creates nothing new.

A key is taken as S3 gives it, whatever characters it holds: one with characters XML 1.0 cannot
carry (control characters, U+FFFE, U+FFFF) starts its runs like any other. COS runs workflows on
such keys too, S3 stores them and their outputs, and refusing them here would drop an owner's
upload without a word to anyone. What they could break is every XML answer that echoes them,
and those encode such characters where XML is written (`shapes.cos.document`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import unquote_plus

from botocore.exceptions import ClientError
from pydantic import BaseModel, Field

from .. import aws, config, ids
from ..control.jobs import created_key, exec_key, put_job
from ..control.queues import enqueue, ensure_queues, send_ticket, wake
from ..control.templates import build_operation
from ..control.workflows import Workflow, matching_workflows
from ..exceptions import NotFoundError
from ..models import CosHeader, Execution, Job, JobInput, WorkflowRef
from ..persistence import store
from ..persistence.storage import MADE_BY
from ..shapes import mps
from ..times import now
from . import upload_schedule


class S3Bucket(BaseModel):
    name: str


class S3Object(BaseModel):
    key: str
    size: int | None = None
    eTag: str | None = None
    versionId: str | None = None
    sequencer: str | None = None


class S3Entity(BaseModel):
    bucket: S3Bucket
    object: S3Object


class S3Record(BaseModel):
    """The fields of an S3 event notification record that dispatch needs."""

    eventName: str
    awsRegion: str | None = None
    s3: S3Entity

    @property
    def key(self) -> str:
        return unquote_plus(self.s3.object.key)  # S3 URL-encodes keys in events

    @property
    def version_token(self) -> str:
        obj = self.s3.object
        return obj.versionId or obj.sequencer or obj.eTag or ""


class S3Event(BaseModel):
    Records: list[S3Record] = Field(default_factory=list)


def cos_headers(bucket: str, key: str, event_name: str, size: int | None = None,
                head: dict[str, Any] | None = None) -> list[CosHeader]:
    """What CI puts in Input.CosHeaders for workflow-triggered jobs: the object's headers (its HEAD,
    made here unless given) and the event."""
    head = head or object_head(bucket, key)
    if head is None:
        raise NotFoundError(f"object {key} does not exist in bucket {bucket}")
    headers = [CosHeader(Key="Content-Type", Value=head.get("ContentType", "")),
               CosHeader(Key="EventName", Value=f"cos:{event_name}"),
               CosHeader(Key="Size", Value=str(head.get("ContentLength", size or 0)))]
    headers += [CosHeader(Key=f"x-cos-meta-{k}", Value=v) for k, v in sorted(head.get("Metadata", {}).items())]
    return headers


def run_listing(workflow_id: str, run_id: str, created: datetime) -> dict[str, str]:
    return {"gsi2pk": f"WORKFLOW#{workflow_id}#RUNS", "gsi2sk": created_key(created, run_id)}


def start_run(workflow: Workflow, bucket: str, key: str, *, run_id: str, region: str, headers: list[CosHeader],
              media_queue_url: str, output_bucket: str) -> str:
    """Create (or find again) a run of `workflow` on an object and queue it: one job per node,
    each knowing its stage and the node whose output it takes. A run of an MPS workflow is an MPS
    task: its jobs write to the input's bucket by default, it notifies as a task does and is listed
    with the tasks."""
    existing = store.get(*exec_key(run_id), Execution)
    if existing is not None:
        # A repeated event: the ticket goes again in case the first delivery stopped before sending it.
        send_ticket(media_queue_url, existing[0].queue_id)
        return run_id
    queues = ensure_queues(bucket)
    start, flow = workflow.start, workflow.Mps
    queue = next((q for q in queues.values() if q.QueueId == start.QueueId), queues["media"])
    notify = flow.Notify if flow else start.notify or queue.NotifyConfig
    job_input = JobInput(BucketId=bucket, Object=key, Region=region, CosHeaders=headers)
    created = now()
    topology = workflow.Topology
    stages = topology.stages()
    job_ids = {name: ids.stable_id(ids.JOB, run_id, name) for name in stages}
    for name, stage in stages.items():
        node = topology.Nodes[name]
        before = topology.predecessor(name)
        operation = build_operation(node.Type, node.Operation or {}, default_bucket=bucket if flow else output_bucket,
                                    default_region=region)
        put_job(Job(
            JobId=job_ids[name], Tag=node.Type,
            State="Pause" if queue.State == "Paused" else "Submitted",
            CreationTime=created, QueueId=queue.QueueId, Input=job_input, Operation=operation,
            Workflow=WorkflowRef(RunId=run_id, WorkflowId=workflow.WorkflowId, WorkflowName=workflow.Name, Name=name),
            execution_id=run_id, notify=None if flow else notify, stage=stage, after=job_ids[before] if before else None,
        ))
    execution = Execution(
        id=run_id, queue_id=queue.QueueId, bucket=bucket, job_ids=list(job_ids.values()), created=created,
        workflow_id=workflow.WorkflowId, workflow_name=workflow.Name, object=key, notify=notify,
        stages=max(stages.values()) + 1, priority=flow.Priority if flow else 0,
        task=flow.task(run_id, bucket, key, job_ids) if flow else None,
    )
    listing = {"gsi2pk": mps.TASKS, "gsi2sk": created_key(created, run_id)} if flow else run_listing(
        workflow.WorkflowId, run_id, created)
    enqueue(execution, **listing)
    wake(media_queue_url, queue)
    return run_id


def run_upload(workflow: Workflow, record: S3Record, *, media_queue_url: str, output_bucket: str,
               head: dict[str, Any] | None = None) -> str:
    """The run of `workflow` on an uploaded object (`head`: its HEAD, if made); its id comes from the
    object's version."""
    bucket, key = record.s3.bucket.name, record.key
    run_id = ids.stable_id(ids.RUN, bucket, key, record.version_token, workflow.WorkflowId)
    if workflow.Mps:  # an MPS task, with a TaskId in MPS's shape
        run_id = mps.task_id(run_id.removeprefix(ids.RUN)[:32])
    if store.get(*exec_key(run_id), Execution) is None:
        headers = cos_headers(bucket, key, record.eventName, record.s3.object.size, head)
    else:
        headers = []  # a repeat: start_run only sends the ticket again
    return start_run(workflow, bucket, key, run_id=run_id, region=record.awsRegion or config.region(), headers=headers,
                     media_queue_url=media_queue_url, output_bucket=output_bucket)


def trigger(workflow: Workflow, key: str, *, media_queue_url: str, output_bucket: str) -> str:
    """TriggerWorkflow: run a workflow by hand on an object already in its bucket (a new run each time)."""
    headers = cos_headers(workflow.BucketId, key, "ObjectCreated:Trigger")
    return start_run(workflow, workflow.BucketId, key, run_id=ids.new_id(ids.RUN), region=config.region(),
                     headers=headers, media_queue_url=media_queue_url, output_bucket=output_bucket)


def object_head(bucket: str, key: str) -> dict[str, Any] | None:
    """An uploaded object's HEAD (None: it is gone)."""
    try:
        return aws.client("s3").head_object(Bucket=bucket, Key=key)
    except ClientError:
        return None


def dispatch(event: S3Event, *, media_queue_url: str, output_bucket: str, notify_queue_url: str) -> list[str]:
    """Runs started (or found again) for every created object in the event: one per matching workflow,
    and the schedule the upload names (`upload_schedule`). An output or imported input of the stack
    (MADE_BY) starts nothing: no loops through a bucket that is both a workflow's input and its output."""
    run_ids = []
    for record in event.Records:
        if not record.eventName.startswith("ObjectCreated"):
            continue
        bucket, key = record.s3.bucket.name, record.key
        head = object_head(bucket, key)  # one HEAD for the checks below and the runs' CosHeaders
        metadata = head.get("Metadata", {}) if head else {}
        if MADE_BY in metadata:
            continue
        workflows = matching_workflows(bucket, key)
        named = upload_schedule.chosen(metadata)
        if named:
            schedule, why = upload_schedule.find(named)
            if schedule is None:
                task_id = upload_schedule.run_id(bucket, key, record.version_token, named)
                run_ids.append(upload_schedule.refuse(task_id, bucket, key, record.awsRegion or config.region(), why,
                                                      notify_queue_url=notify_queue_url))
            elif schedule.WorkflowId not in {w.WorkflowId for w in workflows}:  # else its trigger runs it below
                workflows.append(schedule)
        for workflow in workflows:
            run_ids.append(run_upload(workflow, record, media_queue_url=media_queue_url, output_bucket=output_bucket,
                                      head=head))
    return run_ids
