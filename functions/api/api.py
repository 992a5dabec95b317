"""API: the COS CI XML face and the MPS JSON face behind API Gateway (HTTP API, payload v2.0)."""

from aws_lambda_powertools.logging import correlation_paths
from mediaflow.faces.app import handler as serve
from mediaflow.observability import logger, metrics, tracer


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context: object) -> dict:
    return serve(event, context)
