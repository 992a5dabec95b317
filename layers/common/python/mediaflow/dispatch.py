"""Upload events -> workflow runs: one run (and one job per processing node) per matching workflow.

S3 delivers events at least once and out of order, so every id here is derived from
bucket + key + object version (versionId, else the event sequencer, else the ETag) + workflow:
a repeated event finds its records already there and creates nothing new.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote_plus

from pydantic import BaseModel, Field

from . import aws, config, ids, store
from .jobs import job_key
from .models import CosHeader, Execution, Job, JobInput, WorkflowRef
from .queues import enqueue, ensure_queues, exec_key, send_ticket
from .templates import build_operation
from .times import now
from .workflows import Workflow, matching_workflows


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


def _cos_headers(record: S3Record) -> list[CosHeader]:
    """What CI puts in Input.CosHeaders for workflow-triggered jobs: the object's headers and the event."""
    head = aws.client("s3").head_object(Bucket=record.s3.bucket.name, Key=record.key)
    headers = [CosHeader(Key="Content-Type", Value=head.get("ContentType", "")),
               CosHeader(Key="EventName", Value=f"cos:{record.eventName}"),
               CosHeader(Key="Size", Value=str(head.get("ContentLength", record.s3.object.size or 0)))]
    headers += [CosHeader(Key=f"x-cos-meta-{k}", Value=v) for k, v in sorted(head.get("Metadata", {}).items())]
    return headers


def start_run(workflow: Workflow, record: S3Record, *, media_queue_url: str, output_bucket: str) -> str:
    """Create (or find again) the run of `workflow` on the uploaded object and queue it."""
    bucket, key = record.s3.bucket.name, record.key
    region = record.awsRegion or config.region()
    run_id = ids.stable_id(ids.RUN, bucket, key, record.version_token, workflow.WorkflowId)
    existing = store.get(*exec_key(run_id), Execution)
    if existing is not None:
        # A repeated event: the ticket goes again in case the first delivery stopped before sending it.
        send_ticket(media_queue_url, existing[0].queue_id)
        return run_id
    queues = ensure_queues(bucket)
    start = workflow.start
    queue = next((q for q in queues.values() if q.QueueId == start.QueueId), queues["media"])
    notify = start.notify or queue.NotifyConfig
    job_input = JobInput(BucketId=bucket, Object=key, Region=region, CosHeaders=_cos_headers(record))
    created = now()
    job_ids = []
    for name in workflow.Topology.ordered_nodes():
        node = workflow.Topology.Nodes[name]
        job = Job(
            JobId=ids.stable_id(ids.JOB, run_id, name), Tag=node.Type,
            State="Pause" if queue.State == "Paused" else "Submitted",
            CreationTime=created, QueueId=queue.QueueId, Input=job_input,
            Operation=build_operation(node.Type, node.Operation or {}, default_bucket=output_bucket, default_region=region),
            Workflow=WorkflowRef(RunId=run_id, WorkflowId=workflow.WorkflowId, WorkflowName=workflow.Name, Name=name),
            execution_id=run_id, notify=notify,
        )
        store.put_new(*job_key(job.JobId), job)
        job_ids.append(job.JobId)
    execution = Execution(
        id=run_id, queue_id=queue.QueueId, bucket=bucket, job_ids=job_ids, created=created,
        workflow_id=workflow.WorkflowId, workflow_name=workflow.Name, object=key, notify=notify,
    )
    enqueue(execution)
    send_ticket(media_queue_url, queue.QueueId)
    return run_id


def dispatch(event: S3Event, *, media_queue_url: str, output_bucket: str) -> list[str]:
    """Runs started (or found again) for every created object in the event."""
    run_ids = []
    for record in event.Records:
        if not record.eventName.startswith("ObjectCreated"):
            continue
        for workflow in matching_workflows(record.s3.bucket.name, record.key):
            run_ids.append(start_run(workflow, record, media_queue_url=media_queue_url, output_bucket=output_bucket))
    return run_ids
