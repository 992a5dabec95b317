"""Reaper: executions that ended without recording their outcome (timeout, abort) are recorded as failed."""

from mediaflow.config import setting
from mediaflow.observability import MetricUnit, logger, metrics, tracer
from mediaflow.pipeline.finish import ExecutionStatus, reap
from pydantic import BaseModel

NOTIFY_QUEUE_URL = setting("NOTIFY_QUEUE_URL")


class StatusChangeEvent(BaseModel):
    detail: ExecutionStatus


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context: object) -> dict | None:
    outcome = reap(StatusChangeEvent.model_validate(event).detail,
                   notify_queue_url=NOTIFY_QUEUE_URL)
    if outcome and outcome["reaped"]:
        metrics.add_metric(name="ExecutionsReaped", unit=MetricUnit.Count, value=1)
    return outcome
