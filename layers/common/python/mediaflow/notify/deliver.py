"""Delivering one notification from the notification queue.

Each message is one attempt. A delivery that fails for now (receiver down, non-2xx, timeout) is
tried again later: a new message for the next attempt is queued with the next delay of the retry
schedule (with jitter), and this one is done. SQS delays a message by 15 minutes at most, so an
attempt that arrives before it is due is put back out of sight until it is (visibility, at most
12 h at a time). After the last attempt, or at once when it can never succeed (an unsafe URL),
the notification goes to the dead-letter queue with the reason, from which `mediaflow
notifications redrive` puts it back. The queue's own redrive policy only catches crashes.

Targets: an HTTP(S) URL (signed, Standard Webhooks), an SQS queue (`MqMode=Queue`) or an SNS
topic (`MqMode=Topic`), the AWS roles of Tencent's CMQ/TDMQ. Every message carries the event's
stable id to deduplicate on.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import ValidationError

from .. import aws
from ..exceptions import DeliveryError, InvalidInputError, MediaflowError
from ..models import NotifyConfig
from .http import post_callback
from .outbox import DeliveryState, Notification, record
from .secrets import bucket_secret
from .signing import signature_headers
from .targets import check_target, is_url

SQS_MAX_DELAY = 900  # DelaySeconds
SQS_MAX_VISIBILITY = 43200
JITTER = 0.1  # each delay is drawn from ±10 % of the schedule's
EVENT_ID_ATTRIBUTE = "mediaflow-event-id"
REDRIVE_HOLD_SECONDS = 120  # how long a redrive keeps the messages it has seen out of its own way

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeliverySettings:
    queue_url: str
    dead_letter_url: str
    retry_seconds: tuple[int, ...]  # the delay before each retry: len + 1 attempts in all
    allow_loopback: bool
    timeout_seconds: float = 10.0  # the longest an HTTP receiver may hold a worker

    def delay_after(self, attempt: int) -> float:
        base = self.retry_seconds[attempt - 1]
        return max(1.0, base * random.uniform(1 - JITTER, 1 + JITTER))


class NotDueYet(Exception):
    """The message is an attempt scheduled for later: leave it on the queue."""


def deliver(notification: Notification, settings: DeliverySettings) -> None:
    rule = notification.rule
    if rule.Type == "Url":
        if not rule.Url:
            raise InvalidInputError("the rule has no Url to deliver to")
        body = notification.body.encode()
        headers = signature_headers(bucket_secret(notification.bucket), notification.id, int(time.time()), body)
        post_callback(rule.Url, body, content_type=notification.content_type, headers=headers,
                      allow_loopback=settings.allow_loopback, connect_timeout=min(3.0, settings.timeout_seconds),
                      read_timeout=settings.timeout_seconds)
    elif rule.MqMode == "Topic":
        check_target(rule)
        _publish_to_topic(rule, notification)
    else:
        check_target(rule)
        _send_to_queue(rule, notification)


def _attributes(notification: Notification) -> dict[str, dict[str, str]]:
    return {name: {"DataType": "String", "StringValue": value} for name, value in (
        (EVENT_ID_ATTRIBUTE, notification.id), ("mediaflow-event", notification.event),
        ("content-type", notification.content_type))}


def _fifo(name: str, notification: Notification) -> dict[str, str]:
    """A FIFO queue or topic deduplicates on the event id; one message group per job, run or task."""
    if not name.endswith(".fifo"):
        return {}
    return {"MessageGroupId": notification.subject or notification.bucket, "MessageDeduplicationId": notification.id}


def _region(rule: NotifyConfig) -> str | None:
    """Tencent's region codes (sh, bj, ...) are not AWS regions: those mean the stack's own."""
    return rule.MqRegion if rule.MqRegion and "-" in rule.MqRegion else None


@cache
def _account() -> str:
    return aws.client("sts").get_caller_identity()["Account"]


def _send_to_queue(rule: NotifyConfig, notification: Notification) -> None:
    name = rule.MqName or ""
    sqs = aws.client("sqs", _region(rule))
    try:
        url = name if is_url(name) else \
            sqs.get_queue_url(QueueName=name.rsplit(":", 1)[-1])["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody=notification.body,
                         MessageAttributes=_attributes(notification), **_fifo(name, notification))
    except (ClientError, BotoCoreError) as error:
        raise DeliveryError(f"could not send to SQS queue {name}: {error}") from error


def _publish_to_topic(rule: NotifyConfig, notification: Notification) -> None:
    name = rule.MqName or ""
    region = _region(rule)
    sns = aws.client("sns", region)
    try:
        arn = name if name.startswith("arn:") else \
            f"arn:{sns.meta.partition}:sns:{region or sns.meta.region_name}:{_account()}:{name}"
        sns.publish(TopicArn=arn, Message=notification.body, MessageAttributes=_attributes(notification),
                    **_fifo(name, notification))
    except (ClientError, BotoCoreError) as error:
        raise DeliveryError(f"could not publish to SNS topic {name}: {error}") from error


def handle_message(body: str, receipt_handle: str, settings: DeliverySettings) -> None:
    """Make this attempt, then record it and arrange the next one or the dead-letter queue.
    Raises NotDueYet only, for an attempt that must stay on the queue."""
    notification = Notification.model_validate_json(body)
    wait = notification.due - time.time()
    if wait > 0:
        aws.client("sqs").change_message_visibility(QueueUrl=settings.queue_url, ReceiptHandle=receipt_handle,
                                                    VisibilityTimeout=int(min(wait + 1, SQS_MAX_VISIBILITY)))
        raise NotDueYet(notification.id)
    try:
        deliver(notification, settings)
    except DeliveryError as error:
        if notification.attempt <= len(settings.retry_seconds):
            delay = settings.delay_after(notification.attempt)
            retry = notification.next_attempt(due=time.time() + delay)
            aws.client("sqs").send_message(QueueUrl=settings.queue_url, MessageBody=retry.model_dump_json(),
                                           DelaySeconds=int(min(delay, SQS_MAX_DELAY)))
            record(notification, "Retrying", f"attempt {notification.attempt}: {error.message}; next in {delay:.0f} s")
        else:
            _dead_letter(notification, settings, "Failed", f"attempt {notification.attempt}: {error.message}")
        return
    except MediaflowError as error:  # can never succeed (an unsafe URL, a malformed rule): no retries
        _dead_letter(notification, settings, "Refused", f"{error.code}: {error.message}")
        return
    record(notification, "Delivered")


def _dead_letter(notification: Notification, settings: DeliverySettings, state: DeliveryState, reason: str) -> None:
    aws.client("sqs").send_message(
        QueueUrl=settings.dead_letter_url, MessageBody=notification.model_dump_json(),
        MessageAttributes={"reason": {"DataType": "String", "StringValue": reason[:1024]}},
    )
    record(notification, state, reason)


def redrive(dead_letter_url: str, queue_url: str, *, limit: int = 1000,
            on_skip: Callable[[str, str], None] | None = None) -> int:
    """Move notifications from the dead-letter queue back to the notification queue, as first
    attempts of a fresh schedule; return how many were moved.

    A message that is not a notification (a foreign body, sent there by hand or by a rule that named
    the queue) is skipped: it is left in the dead-letter queue, visible again once the redrive is done,
    for someone to look at, `on_skip(message_id, reason)` is told (by default it is logged), and the
    rest are still moved."""
    sqs = aws.client("sqs")
    moved = 0
    skipped: dict[str, str] = {}  # message id -> receipt handle, each reported once
    try:
        while moved < limit:
            messages = sqs.receive_message(QueueUrl=dead_letter_url, MaxNumberOfMessages=10, WaitTimeSeconds=0,
                                           VisibilityTimeout=REDRIVE_HOLD_SECONDS).get("Messages", [])
            fresh = [message for message in messages if message["MessageId"] not in skipped]
            if not fresh:
                return moved
            for message in fresh:
                try:
                    notification = Notification.model_validate_json(message["Body"])
                except ValidationError as error:
                    skipped[message["MessageId"]] = message["ReceiptHandle"]
                    (on_skip or _log_skip)(message["MessageId"], _not_a_notification(error))
                    continue
                again = notification.model_copy(update={"attempt": 1, "due": 0.0})
                sqs.send_message(QueueUrl=queue_url, MessageBody=again.model_dump_json())
                record(again, "Queued", "redriven from the dead-letter queue")
                sqs.delete_message(QueueUrl=dead_letter_url, ReceiptHandle=message["ReceiptHandle"])
                moved += 1
        return moved
    finally:
        for receipt in skipped.values():  # left where they were, for whoever looks at the queue next
            try:
                sqs.change_message_visibility(QueueUrl=dead_letter_url, ReceiptHandle=receipt, VisibilityTimeout=0)
            except (ClientError, BotoCoreError):
                pass  # visible again when REDRIVE_HOLD_SECONDS are over


def _not_a_notification(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "the body"
    return f"not a notification ({where}: {first['msg']})"


def _log_skip(message_id: str, reason: str) -> None:
    logger.warning("redrive skipped dead-lettered message %s: %s", message_id, reason)
