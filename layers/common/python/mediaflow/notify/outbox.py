"""Events on their way out: kept in the bucket's inbox, and sent where their rule says.

Every event has a stable id, the same on every retry of the step that made it, so the inbox keeps
it once and receivers can deduplicate what they are sent at least once. Each send has a
notification record (a `Delivery`, listed per job, run or task) that says how it went.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel

from .. import aws
from ..models import Model, NotifyConfig
from ..persistence import store
from ..shapes.cos import render
from ..times import now
from . import inbox

DeliveryState = Literal["Queued", "Retrying", "Delivered", "Failed", "Refused"]


class Event(BaseModel):
    """Something a job, run or task did, as a document (rendered as XML or JSON when sent)."""

    id: str
    bucket: str
    type: str  # TaskFinish, WorkflowFinish, WorkflowTask
    subject: str  # the job, run or task it is about
    at: datetime
    content: dict[str, Any]
    rule: NotifyConfig | None = None  # where to send it; None: kept in the inbox only
    json_only: bool = False  # MPS bodies are JSON whatever the rule says


class Notification(BaseModel):
    """A message on the notification queue: one delivery attempt of one event to one target."""

    id: str
    bucket: str
    event: str
    subject: str = ""
    rule: NotifyConfig
    content_type: str
    body: str
    attempt: int = 1
    due: float = 0.0  # epoch seconds before which this attempt must not be made (long backoffs)

    def next_attempt(self, due: float) -> Notification:
        return self.model_copy(update={"attempt": self.attempt + 1, "due": due})


class Delivery(Model):
    """The notification record of one event: where it goes and how its delivery went."""

    Id: str
    Subject: str
    Event: str
    Target: str
    State: DeliveryState = "Queued"
    Attempts: int = 0
    LastError: str = ""
    UpdateTime: datetime


def target_of(rule: NotifyConfig) -> str:
    if rule.Type == "Url":
        return rule.Url or ""
    return f"{'sns' if rule.MqMode == 'Topic' else 'sqs'}:{rule.MqName}"


def delivery_key(notification_id: str) -> tuple[str, str]:
    return f"DELIVERY#{notification_id}", "DELIVERY"


def notification_of(event: Event) -> Notification:
    assert event.rule is not None
    fmt = "JSON" if event.json_only else event.rule.ResultFormat
    return Notification(id=event.id, bucket=event.bucket, event=event.type, subject=event.subject, rule=event.rule,
                        content_type="application/json" if fmt == "JSON" else "application/xml",
                        body=render(event.content, fmt))


def publish(events: list[Event], queue_url: str) -> None:
    """Keep every event in its bucket's inbox and queue the ones with a rule for delivery."""
    notifications = []
    for event in events:
        inbox.keep(event.bucket, event.id, event.type, event.content, event.at)
        if event.rule is not None:
            notification = notification_of(event)
            _open_record(notification)
            notifications.append(notification)
    send(queue_url, notifications)


SQS_BATCH_ENTRIES = 10
SQS_BATCH_BYTES = 262_144  # SendMessageBatch: the bodies of one batch together, at most one message's size


def batches(bodies: list[str]) -> list[list[str]]:
    """The bodies in order, in batches SendMessageBatch accepts (a body alone over the bound stays alone,
    for SQS to judge)."""
    packed: list[list[str]] = []
    size = 0
    for body in bodies:
        length = len(body.encode())
        if not packed or len(packed[-1]) == SQS_BATCH_ENTRIES or size + length > SQS_BATCH_BYTES:
            packed.append([])
            size = 0
        packed[-1].append(body)
        size += length
    return packed


def send(queue_url: str, notifications: list[Notification]) -> None:
    for batch in batches([n.model_dump_json() for n in notifications]):
        response = aws.client("sqs").send_message_batch(
            QueueUrl=queue_url, Entries=[{"Id": str(i), "MessageBody": body} for i, body in enumerate(batch)])
        if response.get("Failed"):
            raise RuntimeError(f"could not queue {len(response['Failed'])} notifications: {response['Failed']}")


def record(notification: Notification, state: DeliveryState, error: str = "") -> None:
    """Note how an attempt went on the event's notification record."""
    def change(doc: Delivery) -> None:
        if doc.State != "Delivered":  # a late duplicate attempt does not undo a delivery
            doc.State, doc.Attempts, doc.LastError, doc.UpdateTime = state, notification.attempt, error, now()

    if store.get(*delivery_key(notification.id), Delivery) is None:  # queued by hand, or from an older version
        _open_record(notification)
    store.mutate(*delivery_key(notification.id), Delivery, change)


def _open_record(notification: Notification) -> None:
    """The notification record, listed under its subject; kept as it is if it exists (a retried step)."""
    store.put_new(*delivery_key(notification.id),
                  Delivery(Id=notification.id, Subject=notification.subject, Event=notification.event,
                           Target=target_of(notification.rule), UpdateTime=now()),
                  gsi2pk=f"SUBJECT#{notification.subject}", gsi2sk=notification.id)


def deliveries(subject: str) -> list[Delivery]:
    """The notification records of a job, run or task."""
    return store.query_page("gsi2", f"SUBJECT#{subject}", Delivery, size=100).items
