"""Finish step: record the outcome, emit notifications, hand the queue slot on."""

from pydantic import BaseModel

from mediaflow.config import setting
from mediaflow.finish import StepError, finish, record_results, report_unit
from mediaflow.models import UnitResult
from mediaflow.observability import MetricUnit, logger, metrics, tracer

NOTIFY_QUEUE_URL = setting("NOTIFY_QUEUE_URL")


class FinishRequest(BaseModel):
    execution_id: str
    results: list[UnitResult] | None = None
    joined: list[UnitResult] | None = None  # the joins of a stage's split transcodes, after its units
    error: StepError | None = None
    stage: int | None = None  # set when a stage's results are recorded before the next stage runs
    report: UnitResult | None = None  # set when one unit of a NotifyMode=Change task ended


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context: object) -> dict:
    request = FinishRequest.model_validate(event)
    if request.report is not None:
        return report_unit(request.execution_id, request.report, notify_queue_url=NOTIFY_QUEUE_URL)
    if request.stage is not None:
        return record_results(request.execution_id, [*(request.results or []), *(request.joined or [])])
    outcome = finish(request.execution_id, results=request.results, error=request.error,
                     notify_queue_url=NOTIFY_QUEUE_URL)
    metrics.add_metric(name="JobsSucceeded", unit=MetricUnit.Count, value=sum(s == "Success" for s in outcome["jobs"].values()))
    metrics.add_metric(name="JobsFailed", unit=MetricUnit.Count, value=sum(s == "Failed" for s in outcome["jobs"].values()))
    return outcome
