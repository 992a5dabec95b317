"""Finish step: record the outcome, emit notifications, hand the queue slot on."""

from mediaflow.config import setting
from mediaflow.models import UnitResult
from mediaflow.observability import MetricUnit, logger, metrics, tracer
from mediaflow.persistence.unitstore import UnitRef
from mediaflow.pipeline.finish import (
    StepError,
    finish,
    record_results,
    record_stage,
    report_unit,
)
from pydantic import BaseModel

NOTIFY_QUEUE_URL = setting("NOTIFY_QUEUE_URL")


class FinishRequest(BaseModel):
    execution_id: str
    results: list[UnitResult] | None = None  # given inline (a direct call); the state machine passes none
    joined: list[UnitResult] | None = None  # the joins of a stage's split transcodes, after its units
    error: StepError | None = None
    stage: int | None = None  # set when a stage's results are recorded before the next stage runs
    # set when one unit of a NotifyMode=Change task ended: its number in `stage` (its stored result), or its result
    report: int | UnitResult | None = None


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context: object) -> dict:
    request = FinishRequest.model_validate(event)
    if request.report is not None:
        report = request.report if isinstance(request.report, UnitResult) else \
            UnitRef(execution_id=request.execution_id, stage=request.stage or 0, index=request.report)
        return report_unit(request.execution_id, report, notify_queue_url=NOTIFY_QUEUE_URL)
    if request.stage is not None:
        if request.results is None and request.joined is None:  # the state machine: units stored their results
            return record_stage(request.execution_id, request.stage, notify_queue_url=NOTIFY_QUEUE_URL)
        return record_results(request.execution_id, [*(request.results or []), *(request.joined or [])])
    outcome = finish(request.execution_id, results=request.results, error=request.error,
                     notify_queue_url=NOTIFY_QUEUE_URL)
    metrics.add_metric(name="JobsSucceeded", unit=MetricUnit.Count, value=sum(s == "Success" for s in outcome["jobs"].values()))
    metrics.add_metric(name="JobsFailed", unit=MetricUnit.Count, value=sum(s == "Failed" for s in outcome["jobs"].values()))
    return outcome
