"""Task unit step: one ffmpeg run on one piece of work."""

from mediaflow.models import UnitSpec
from mediaflow.observability import MetricUnit, logger, metrics, tracer
from mediaflow.persistence.unitstore import UnitRef
from mediaflow.pipeline.units import run_planned, run_unit


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context: object) -> dict:
    if "kind" in event:  # a whole spec, invoked directly (events/unit-*.json): its whole result comes back
        result = run_unit(UnitSpec.model_validate(event)).model_dump(mode="json")
    else:  # a planned unit, by number (the state machine): its result goes to the work store
        result = run_planned(UnitRef.model_validate(event))
    metrics.add_metric(name="UnitsSucceeded" if result["ok"] else "UnitsFailed", unit=MetricUnit.Count, value=1)
    return result
