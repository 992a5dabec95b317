"""Converter: an office document -> PDF with LibreOffice headless, for the Plan step of a DocProcess job.

A container-image function (LibreOffice does not fit a layer); a document LibreOffice cannot read
fails the invocation, and Plan fails the job with LibreOffice's reason."""

import tempfile
from pathlib import Path

from mediaflow.observability import logger, tracer
from mediaflow.pipeline.doc_jobs import convert_object


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict, context: object) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        return convert_object(event, Path(folder))
