"""Task unit step: one ffmpeg run on one piece of work."""

from mediaflow.models import UnitSpec
from mediaflow.observability import MetricUnit, logger, metrics, tracer
from mediaflow.units import run_unit


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context: object) -> dict:
    result = run_unit(UnitSpec.model_validate(event))
    metrics.add_metric(name="UnitsSucceeded" if result.ok else "UnitsFailed", unit=MetricUnit.Count, value=1)
    return result.model_dump(mode="json")
