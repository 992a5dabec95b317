"""Dispatcher: S3 ObjectCreated events -> one workflow run per matching workflow."""

from mediaflow.config import setting
from mediaflow.dispatch import S3Event, dispatch
from mediaflow.observability import MetricUnit, logger, metrics, tracer

MEDIA_QUEUE_URL = setting("MEDIA_QUEUE_URL")
OUTPUT_BUCKET = setting("OUTPUT_BUCKET")


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context: object) -> dict:
    runs = dispatch(S3Event.model_validate(event), media_queue_url=MEDIA_QUEUE_URL, output_bucket=OUTPUT_BUCKET)
    metrics.add_metric(name="RunsTriggered", unit=MetricUnit.Count, value=len(runs))
    return {"runs": runs}
