"""Feature queues: priority order, concurrency limit and pause, on top of SQS FIFO.

SQS FIFO cannot reorder, so the ordered backlog lives in the table (gsi1, sorted by priority
rank then sequence) and a FIFO message is only a claim ticket: "start what is next in queue X".
Tickets of one queue share a message group, so their handling is serialised per queue; a ticket
that finds the queue full or paused is simply consumed, because every finished job and every
resume sends a new one.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Literal

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError
from pydantic import Field, ValidationError, field_validator

from .. import aws, config, ids
from ..exceptions import InvalidInputError, NotFoundError
from ..models import Execution, Feature, Model, NotifyConfig, Queue
from ..notify.secrets import bucket_secret
from ..notify.targets import check_target
from ..persistence import store
from ..times import now
from .jobs import exec_key, queue_key

QUEUE_NAMES: dict[Feature, tuple[str, str]] = {
    # feature: (queue name shown to users, category)
    "media": ("queue-1", "Transcoding"),
    "speech": ("queue-speech-1", "SpeechRecognition"),
    "doc": ("queue-doc-process-1", "DocProcess"),
}
# the environment variable holding each feature's SQS FIFO queue of claim tickets
TICKET_QUEUE_SETTINGS: dict[Feature, str] = {"media": "MEDIA_QUEUE_URL", "speech": "SPEECH_QUEUE_URL",
                                             "doc": "DOC_QUEUE_URL"}
WAITING = "WAITING"
STARTING = "STARTING"  # claimed, its Step Functions execution not yet known to be started
DONE = "DONE"
MAX_CLAIM_ROUNDS = 200  # bounds the loop when the index lags behind claims made elsewhere
MAX_CLAIM_BATCH = 25  # executions read, slots taken and start numbers drawn at once


def priority_rank(priority: int) -> str:
    """Sort key part: a higher priority sorts first. Covers JobLevel 0..2 and TasksPriority -10..10."""
    return f"{50 - max(-10, min(10, priority)):02d}"


def backlog_keys(execution: Execution) -> dict[str, str]:
    """Where a waiting execution sits in its queue's order: priority rank, then sequence."""
    return {"gsi1pk": waiting_key(execution.queue_id),
            "gsi1sk": f"{priority_rank(execution.priority)}#{execution.seq:012d}"}


def waiting_key(queue_id: str) -> str:
    return f"QUEUE#{queue_id}#{WAITING}"


def starting_key(queue_id: str) -> str:
    return f"QUEUE#{queue_id}#{STARTING}"


def _utc(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat()


def done_keys(queue_id: str, ended: datetime) -> dict[str, str]:
    """Where an ended execution is counted: its queue's ended executions, by end time."""
    return {"gsi1pk": f"QUEUE#{queue_id}#{DONE}", "gsi1sk": _utc(ended)}


class QueueFigures(Model):
    """What a queue is doing now: shown with the queue by `GET /queue` (and its speech and doc twins)."""

    Waiting: int
    Running: int
    DoneLastHour: int


def figures(queue_id: str) -> QueueFigures:
    hour_ago = _utc(now() - timedelta(hours=1))
    return QueueFigures(
        Waiting=store.count("gsi1", waiting_key(queue_id)),
        Running=int(store.get_attribute(*queue_key(queue_id), "running") or 0),
        DoneLastHour=store.count("gsi1", f"QUEUE#{queue_id}#{DONE}", between=(hour_ago, "9999")),
    )


def ensure_queues(bucket: str) -> dict[Feature, Queue]:
    """A bucket's feature queues, created on first use (the "activation" of the seeds).

    Queue ids are derived from the bucket, so concurrent first uses create each queue once."""
    existing = {q.Feature: q for q in store.query_index(f"BUCKET#{bucket}#QUEUE", Queue)}
    if len(existing) < len(QUEUE_NAMES):
        bucket_secret(bucket)
    for feature, (name, category) in QUEUE_NAMES.items():
        if feature in existing:
            continue
        created = now()
        queue = Queue(
            QueueId=ids.stable_id(ids.QUEUE, bucket, feature), Name=name, BucketId=bucket, Feature=feature,
            Category=category, CreateTime=created, UpdateTime=created,
        )
        store.put_new(*queue_key(queue.QueueId), queue, gsi1pk=f"BUCKET#{bucket}#QUEUE", gsi1sk=feature)
        existing[feature] = store.must_get(*queue_key(queue.QueueId), Queue)[0]
    return existing


def get_queue(queue_id: str) -> Queue:
    return store.must_get(*queue_key(queue_id), Queue)[0]


def enqueue(execution: Execution, **listing: str) -> bool:
    """Put an execution in its queue's ordered backlog. False if it was already there (a repeat).

    `listing` gives the gsi2 keys under which the execution is listed (runs of a workflow, tasks)."""
    execution.seq = store.add_counter(*queue_key(execution.queue_id), "seq", 1)
    return store.put_new(
        *exec_key(execution.id), execution, state=execution.state, **backlog_keys(execution), **listing
    )


def tickets_url(feature: Feature) -> str:
    return config.setting(TICKET_QUEUE_SETTINGS[feature])


def send_ticket(queue_url: str, queue_id: str) -> None:
    aws.client("sqs").send_message(
        QueueUrl=queue_url, MessageBody=store.dumps({"queue_id": queue_id}),
        MessageGroupId=queue_id, MessageDeduplicationId=ids.new_id("k"),
    )


def wake(queue_url: str, queue: Queue) -> None:
    """After enqueueing into `queue` (as read before): send the claim ticket, unless the queue is still
    paused. Then no ticket is needed (a burst into a paused queue costs no Processor run per job): the
    resume sends one, after its own write, and that one sees what was enqueued before this read."""
    if queue.State == "Paused" and get_queue(queue.QueueId).State == "Paused":
        return
    send_ticket(queue_url, queue.QueueId)


def waiting(queue_id: str, limit: int | None = None) -> list[Execution]:
    return store.query_index(waiting_key(queue_id), Execution, limit=limit)


def release_slot(queue_id: str) -> None:
    store.add_counter(*queue_key(queue_id), "running", -1)


def launched(execution: Execution) -> None:
    """Its Step Functions execution exists: it leaves the claimed-but-not-started index (unless it
    has already ended and moved on to the done index)."""
    try:
        store.table().update_item(
            Key=dict(zip(("pk", "sk"), exec_key(execution.id))), UpdateExpression="REMOVE gsi1pk, gsi1sk",
            ConditionExpression="gsi1pk = :starting", ExpressionAttributeValues={":starting": starting_key(execution.queue_id)})
    except ClientError as error:
        if not store.is_condition_failure(error):
            raise


def stalled_starts(queue_id: str, older_than: timedelta, limit: int = 10) -> list[Execution]:
    """Executions claimed more than `older_than` ago whose start was never confirmed: the invocation
    that claimed them died (a timeout, a crash) between the claim and the start."""
    return store.query_page("gsi1", starting_key(queue_id), Execution, size=limit,
                            between=("0", _utc(now() - older_than))).items  # "0" sorts before any time


def unclaim(execution: Execution) -> None:
    """Put a claimed execution back at its place in the order (its start failed)."""
    def back(doc: Execution) -> None:
        doc.state, doc.started, doc.start_seq = "Submitted", None, None

    store.mutate(*exec_key(execution.id), Execution, back, state="Submitted", **backlog_keys(execution))


def claim_next(queue_id: str, limit: int = MAX_CLAIM_ROUNDS) -> list[Execution]:
    """Claim up to `limit` waiting executions in order while the queue is active and has free slots.

    A round claims a batch: it reads the first waiting executions (with their versions), takes that
    many slots at once (conditional on MaxConcurrent), draws that many start numbers at once, and then
    claims the executions in order, each conditional on its version, stopping at the first one another
    claimer got first (its slot and the rest go back). Why the start numbers (`start_seq`) give the
    order in which claims were decided, however many claimers run: a claimer's claims are a prefix of
    the executions it read, and it draws its numbers after reading them; so an execution before them in
    the order, claimed by someone else, was claimed before that read, with a number drawn before."""
    claimed: list[Execution] = []
    for _ in range(MAX_CLAIM_ROUNDS):
        queue, running = _queue_and_running(queue_id)
        want = min(limit - len(claimed), MAX_CLAIM_BATCH, queue.MaxConcurrent - running)
        if want <= 0 or queue.State != "Active":
            return claimed
        heads = _waiting_heads(queue_id, want)
        if not heads:
            return claimed
        slots = _take_slots(queue, len(heads))
        if not slots:
            return claimed
        last = store.add_counter(*queue_key(queue_id), "starts", slots)
        won = 0
        for (execution, version), start_seq in zip(heads[:slots], range(last - slots + 1, last + 1)):
            if not _claim(execution, version, start_seq):
                break
            claimed.append(execution)
            won += 1
        for _ in range(slots - won):
            release_slot(queue_id)
    return claimed


def _queue_and_running(queue_id: str) -> tuple[Queue, int]:
    """The queue and how many of its executions run now, in one read."""
    item = store.table().get_item(Key=dict(zip(("pk", "sk"), queue_key(queue_id))), ConsistentRead=True).get("Item")
    if item is None:
        raise NotFoundError(f"queue {queue_id} does not exist")
    return Queue.model_validate_json(item["doc"]), int(item.get("running", 0))


def _take_slots(queue: Queue, wanted: int) -> int:
    """Count `wanted` more running executions if the queue still has room for them (another claimer may
    have taken some since it was read), else one."""
    for count in dict.fromkeys((wanted, 1)):
        try:
            store.table().update_item(
                Key=dict(zip(("pk", "sk"), queue_key(queue.QueueId))), UpdateExpression="ADD running :n",
                ConditionExpression="attribute_not_exists(running) OR running <= :room",
                ExpressionAttributeValues={":n": count, ":room": queue.MaxConcurrent - count})
            return count
        except ClientError as error:
            if not store.is_condition_failure(error):
                raise
    return 0


def _claim(execution: Execution, version: int, start_seq: int) -> bool:
    """Move a waiting execution, as read at `version`, to Running; False if it changed since."""
    execution.state, execution.started, execution.start_seq = "Running", now(), start_seq
    try:
        store.replace(*exec_key(execution.id), execution, version, state="Running",
                      gsi1pk=starting_key(execution.queue_id), gsi1sk=_utc(execution.started))
        return True
    except store.ConflictError:
        return False


def _waiting_heads(queue_id: str, limit: int) -> list[tuple[Execution, int]]:
    """The first `limit` waiting executions in order, with the versions they were read at."""
    page = store.table().query(IndexName="gsi1", KeyConditionExpression=Key("gsi1pk").eq(waiting_key(queue_id)),
                               Limit=limit)
    return [(Execution.model_validate_json(item["doc"]), int(item["version"])) for item in page["Items"]]


# ------------------------------------------------------------------ the API's view of queues
_Rule = NotifyConfig  # the field below shares the type's name
MAX_LIMIT = 10**15
LIMITS = ("MaxInputSize", "MaxInputDuration", "MaxOutputsPerJob")


class QueueUpdate(Model):
    """The <Request> of UpdateMediaQueue (and its speech and doc twins)."""

    Name: str = Field(min_length=1, max_length=128)
    State: Literal["Active", "Paused"]
    NotifyConfig: _Rule | None = None
    MaxConcurrent: int | None = Field(None, ge=1, le=1000)
    # Cost guardrails, 0 for no limit; bounded so that the stored numbers stay exact.
    MaxInputSize: int | None = Field(None, ge=0, le=MAX_LIMIT)  # bytes
    MaxInputDuration: float | None = Field(None, ge=0, le=MAX_LIMIT, allow_inf_nan=False)  # seconds
    MaxOutputsPerJob: int | None = Field(None, ge=0, le=MAX_LIMIT)

    @field_validator("NotifyConfig", "MaxConcurrent", "MaxInputSize", "MaxInputDuration", "MaxOutputsPerJob",
                     mode="before")
    @classmethod
    def _blank(cls, value: Any) -> Any:
        return None if value in ("", {}) else value


def list_queues(bucket: str, feature: Feature, *, queue_ids: list[str] | None = None,
                state: str | None = None) -> tuple[list[Queue], list[str]]:
    """A bucket's queue of one feature (created on first use), filtered; and the unknown ids asked for."""
    queue = ensure_queues(bucket)[feature]
    missing = [q for q in queue_ids or [] if q != queue.QueueId]
    keep = (not queue_ids or queue.QueueId in queue_ids) and state in (None, "", "All", queue.State)
    return ([queue] if keep else []), missing


def update_queue(bucket: str, feature: Feature, queue_id: str, body: dict[str, Any], *, queue_url: str) -> Queue:
    """Rename, pause/resume, change the callback rule or the limits of a queue. Pausing holds the
    waiting jobs (they show State Pause: `jobs.shown`), resuming releases them in their order: either
    is one write to the queue's record, however many jobs wait."""
    try:
        update = QueueUpdate.model_validate(body)
    except ValidationError as error:
        first = error.errors()[0]
        raise InvalidInputError(f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}") from error
    rule = update.NotifyConfig
    if rule and rule.State == "On" and rule.Type == "Url" and not rule.Url:
        raise InvalidInputError("NotifyConfig.Url is required when the callback is On and of Type Url")
    if rule and rule.State == "On" and rule.Type == "TDMQ" and not rule.MqName:
        raise InvalidInputError("NotifyConfig.MqName is required when the callback is of Type TDMQ")
    if rule:
        check_target(rule)
    queue = ensure_queues(bucket)[feature]
    if queue.QueueId != queue_id:
        raise NotFoundError(f"queue {queue_id} does not exist")

    def change(doc: Queue) -> None:
        doc.Name, doc.State, doc.UpdateTime = update.Name, update.State, now()
        if rule is not None:
            doc.NotifyConfig = rule
        if update.MaxConcurrent is not None:
            doc.MaxConcurrent = update.MaxConcurrent
        for name in LIMITS:  # a limit left out stays as it is
            if (value := getattr(update, name)) is not None:
                setattr(doc, name, value)

    updated = store.mutate(*queue_key(queue_id), Queue, change)
    if updated.State == "Active":
        send_ticket(queue_url, queue_id)  # whatever waits may start now, in order
    return updated
