"""Processor: claim tickets from the media FIFO queue -> start the next jobs in queue order."""

from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from mediaflow.config import setting
from mediaflow.observability import MetricUnit, logger, metrics, tracer
from mediaflow.processor import Ticket, start_next

STATE_MACHINE_ARN = setting("STATE_MACHINE_ARN")
MEDIA_QUEUE_URL = setting("MEDIA_QUEUE_URL")
# Tickets of other queues (message groups) go on when one fails; its own group stops, keeping order.
processor = SqsFifoPartialProcessor(skip_group_on_error=True)


def start(record: SQSRecord) -> list[str]:
    started = start_next(Ticket.model_validate_json(record.body), state_machine_arn=STATE_MACHINE_ARN,
                         queue_url=MEDIA_QUEUE_URL)
    metrics.add_metric(name="JobsStarted", unit=MetricUnit.Count, value=len(started))
    return started


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context: object) -> dict:
    return process_partial_response(event=event, record_handler=start, processor=processor, context=context)
