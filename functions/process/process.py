"""Processor: claim tickets from the feature FIFO queues (media, speech, doc) -> start the next jobs in
queue order. A ticket that leaves work for later goes back to the SQS queue it came from."""

import time
from functools import partial

from aws_lambda_powertools.utilities.batch import (
    SqsFifoPartialProcessor,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from mediaflow.config import setting
from mediaflow.control.queues import TICKET_QUEUE_SETTINGS
from mediaflow.observability import MetricUnit, logger, metrics, tracer
from mediaflow.pipeline.processor import Ticket, start_next

STATE_MACHINE_ARN = setting("STATE_MACHINE_ARN")
# SQS queue name (the last part of both its ARN and its URL) -> URL
TICKET_QUEUES = {url.rsplit("/", 1)[-1]: url for url in map(setting, TICKET_QUEUE_SETTINGS.values())}
SPARE_SECONDS = 10  # stop starting jobs this long before the timeout: enough to hand on a ticket
# Tickets of other queues (message groups) go on when one fails; its own group stops, keeping order.
processor = SqsFifoPartialProcessor(skip_group_on_error=True)


def start(record: SQSRecord, deadline: float) -> list[str]:
    started = start_next(Ticket.model_validate_json(record.body), state_machine_arn=STATE_MACHINE_ARN,
                         queue_url=TICKET_QUEUES[record.event_source_arn.rsplit(":", 1)[-1]], deadline=deadline)
    metrics.add_metric(name="JobsStarted", unit=MetricUnit.Count, value=len(started))
    return started


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context: object) -> dict:
    deadline = time.monotonic() + context.get_remaining_time_in_millis() / 1000 - SPARE_SECONDS  # type: ignore[attr-defined]
    return process_partial_response(event=event, record_handler=partial(start, deadline=deadline),
                                    processor=processor, context=context)
