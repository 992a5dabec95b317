"""Claim tickets -> Step Functions executions, started in queue order, named after the execution id
so that a redelivered ticket can never start the same job twice.

One ticket starts at most CLAIMS_PER_TICKET executions, and none after its deadline; when there
may be more, it sends the next ticket: an invocation stays short whatever MaxConcurrent is. An
invocation that dies between a claim and its start leaves the execution in the queue's
claimed-but-not-started index; the next ticket of the queue starts it (the name makes that safe
if it had started after all)."""

from __future__ import annotations

import json
import math
import time
from datetime import timedelta

from pydantic import BaseModel

from .. import aws
from ..control.jobs import set_running
from ..control.queues import (
    claim_next,
    launched,
    release_slot,
    send_ticket,
    stalled_starts,
    unclaim,
)
from ..models import Execution

CLAIMS_PER_TICKET = 10
STALLED_AFTER = timedelta(seconds=90)  # longer than a Processor invocation may run


class Ticket(BaseModel):
    queue_id: str


def launch(execution: Execution, state_machine_arn: str) -> None:
    try:
        aws.client("stepfunctions").start_execution(
            stateMachineArn=state_machine_arn, name=execution.id,
            input=json.dumps({"execution_id": execution.id, "stage": 0}),
        )
    except aws.client("stepfunctions").exceptions.ExecutionAlreadyExists:
        pass  # started by an earlier delivery of this ticket
    except Exception:
        unclaim(execution)
        release_slot(execution.queue_id)
        raise
    launched(execution)
    set_running(execution)


def start_next(ticket: Ticket, *, state_machine_arn: str, queue_url: str,
               stalled_after: timedelta = STALLED_AFTER, deadline: float = math.inf) -> list[str]:
    """Start what this ticket may: first claims whose start was lost, then the next in order.
    `deadline` (time.monotonic()) is when to stop and leave the rest to a fresh ticket."""
    started: list[str] = []
    for execution in stalled_starts(ticket.queue_id, stalled_after):
        launch(execution, state_machine_arn)
        started.append(execution.id)
    for _ in range(CLAIMS_PER_TICKET):
        if time.monotonic() > deadline:
            break
        claimed = claim_next(ticket.queue_id, limit=1)
        if not claimed:
            return started
        launch(claimed[0], state_machine_arn)
        started.append(claimed[0].id)
    send_ticket(queue_url, ticket.queue_id)  # there may be more to start: go on in a fresh invocation
    return started
