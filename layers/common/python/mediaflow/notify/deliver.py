"""Delivering one notification from the notification queue.

A delivery that fails for now (receiver down, non-2xx, timeout) is retried by SQS: the message's
visibility is pushed out by the next delay of the retry schedule and the record is reported as
failed; after the last retry the queue's redrive policy moves it to the dead-letter queue, from
which it can be redriven. A delivery that can never succeed (an unsafe URL, an unknown type) goes
to the dead-letter queue at once, with the reason, instead of being retried."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any


from .. import aws
from ..exceptions import DeliveryError, InvalidInputError, MediaflowError
from ..finish import Notification
from ..queues import bucket_secret
from .http import post_callback
from .signing import signature_headers

SQS_MAX_VISIBILITY = 43200


@dataclass(frozen=True)
class DeliverySettings:
    queue_url: str
    dead_letter_url: str
    retry_seconds: tuple[int, ...]
    allow_loopback: bool

    def delay_after(self, attempt: int) -> int:
        return min(SQS_MAX_VISIBILITY, self.retry_seconds[min(attempt, len(self.retry_seconds)) - 1])


def deliver(notification: Notification, settings: DeliverySettings) -> int:
    rule = notification.rule
    if rule.Type != "Url" or not rule.Url:
        raise InvalidInputError(f"notification type {rule.Type} has no deliverable target (only Url is delivered)")
    body = notification.body.encode()
    headers = signature_headers(bucket_secret(notification.bucket), notification.id, int(time.time()), body)
    return post_callback(rule.Url, body, content_type=notification.content_type, headers=headers,
                         allow_loopback=settings.allow_loopback)


def handle_message(body: str, receipt_handle: str, receive_count: int, settings: DeliverySettings) -> None:
    """Deliver, or arrange the retry / dead-letter; raises only when the record must be retried."""
    notification = Notification.model_validate_json(body)
    try:
        deliver(notification, settings)
    except DeliveryError:
        # After the last retry, visibility 0 hands it straight to the redrive policy (maxReceiveCount
        # = retries + 1), which moves it to the dead-letter queue on the next receive.
        retrying = receive_count <= len(settings.retry_seconds)
        aws.client("sqs").change_message_visibility(QueueUrl=settings.queue_url, ReceiptHandle=receipt_handle,
                                         VisibilityTimeout=settings.delay_after(receive_count) if retrying else 0)
        raise
    except MediaflowError as error:
        aws.client("sqs").send_message(
            QueueUrl=settings.dead_letter_url, MessageBody=body,
            MessageAttributes={"reason": {"DataType": "String", "StringValue": f"{error.code}: {error.message}"}},
        )


def redrive(dead_letter_url: str, queue_url: str, *, limit: int = 1000) -> int:
    """Move notifications from the dead-letter queue back to the notification queue."""
    moved = 0
    while moved < limit:
        messages = aws.client("sqs").receive_message(QueueUrl=dead_letter_url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
        if not messages:
            return moved
        for message in messages:
            aws.client("sqs").send_message(QueueUrl=queue_url, MessageBody=message["Body"])
            aws.client("sqs").delete_message(QueueUrl=dead_letter_url, ReceiptHandle=message["ReceiptHandle"])
            moved += 1
    return moved

