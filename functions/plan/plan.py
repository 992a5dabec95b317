"""Plan step: probe the input and cut the execution into task units."""

from mediaflow.observability import logger, metrics, tracer
from mediaflow.pipeline.planner import plan
from pydantic import BaseModel


class PlanRequest(BaseModel):
    execution_id: str
    stage: int = 0


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context: object) -> dict:
    request = PlanRequest.model_validate(event)
    return plan(request.execution_id, request.stage)
