"""Probe step: one stored object described by ffmpeg, answered to the API function that invoked it."""

from mediaflow.observability import logger, tracer
from mediaflow.pipeline.probe_object import probe_where_it_is


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict, context: object) -> dict:
    return probe_where_it_is(event["bucket"], event["key"])
