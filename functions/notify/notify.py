"""Notifier: deliver notifications (signed HTTP callbacks), retrying with backoff through SQS."""

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from mediaflow.config import setting
from mediaflow.notify.deliver import DeliverySettings, handle_message
from mediaflow.observability import MetricUnit, logger, metrics, tracer

SETTINGS = DeliverySettings(
    queue_url=setting("NOTIFY_QUEUE_URL"),
    dead_letter_url=setting("NOTIFY_DLQ_URL"),
    retry_seconds=tuple(int(s) for s in setting("CALLBACK_RETRY_SECONDS").split(",")),
    allow_loopback=setting("ALLOW_LOOPBACK_CALLBACKS") == "true",
)
# A batch whose every delivery failed is reported record by record too: each keeps its own retry delay.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def deliver(record: SQSRecord) -> None:
    handle_message(record.body, record.receipt_handle, int(record.attributes.approximate_receive_count), SETTINGS)
    metrics.add_metric(name="NotificationsHandled", unit=MetricUnit.Count, value=1)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context: object) -> dict:
    return process_partial_response(event=event, record_handler=deliver, processor=processor, context=context)
