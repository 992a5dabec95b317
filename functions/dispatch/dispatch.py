"""Dispatcher: upload events -> one workflow run per matching workflow.

Two shapes come in: S3 notifications of the stack's input bucket (`Records[].s3`, invoked by S3),
and SQS batches of EventBridge "Object Created" events of external buckets (from UploadEventsQueue).
"""

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from mediaflow.config import setting
from mediaflow.observability import MetricUnit, logger, metrics, tracer
from mediaflow.pipeline import upload_events
from mediaflow.pipeline.dispatch import S3Event, dispatch

MEDIA_QUEUE_URL = setting("MEDIA_QUEUE_URL")
OUTPUT_BUCKET = setting("OUTPUT_BUCKET")
NOTIFY_QUEUE_URL = setting("NOTIFY_QUEUE_URL")  # a schedule named at upload that does not exist is notified
# Each message is retried on its own (visibility timeout, then the queue's DLQ).
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def start_runs(event: S3Event) -> list[str]:
    runs = dispatch(event, media_queue_url=MEDIA_QUEUE_URL, output_bucket=OUTPUT_BUCKET, notify_queue_url=NOTIFY_QUEUE_URL)
    metrics.add_metric(name="RunsTriggered", unit=MetricUnit.Count, value=len(runs))
    return runs


def external_upload(record: SQSRecord) -> list[str]:
    s3_record = upload_events.parse(record.body)
    return start_runs(S3Event(Records=[s3_record])) if s3_record else []


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context: object) -> dict:
    records = event.get("Records") or [{}]
    if records[0].get("eventSource") == "aws:sqs":
        return process_partial_response(event=event, record_handler=external_upload, processor=processor, context=context)
    return {"runs": start_runs(S3Event.model_validate(event))}
