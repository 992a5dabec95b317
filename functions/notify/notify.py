"""Notifier: deliver notifications (signed HTTP callbacks, SQS, SNS), retrying on a schedule."""

import asyncio

from aws_lambda_powertools.utilities.batch import AsyncBatchProcessor, EventType, async_process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from mediaflow.config import setting
from mediaflow.notify.deliver import DeliverySettings, handle_message
from mediaflow.observability import MetricUnit, logger, metrics, tracer

SETTINGS = DeliverySettings(
    queue_url=setting("NOTIFY_QUEUE_URL"),
    dead_letter_url=setting("NOTIFY_DLQ_URL"),
    retry_seconds=tuple(int(s) for s in setting("CALLBACK_RETRY_SECONDS").split(",")),
    allow_loopback=setting("ALLOW_LOOPBACK_CALLBACKS") == "true",
    timeout_seconds=float(setting("CALLBACK_TIMEOUT_SECONDS")),
)
# The records of a batch are delivered at once, so one receiver that hangs costs the batch one
# timeout, not one per record; an attempt scheduled for later is reported failed and stays queued.
processor = AsyncBatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


async def deliver(record: SQSRecord) -> None:
    await asyncio.to_thread(handle_message, record.body, record.receipt_handle, SETTINGS)
    metrics.add_metric(name="NotificationsHandled", unit=MetricUnit.Count, value=1)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context: object) -> dict:
    return async_process_partial_response(event=event, record_handler=deliver, processor=processor, context=context)
