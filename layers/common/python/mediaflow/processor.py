"""Claim tickets -> Step Functions executions, started in queue order, named after the execution id
so that a redelivered ticket can never start the same job twice."""

from __future__ import annotations

import json

from pydantic import BaseModel

from . import aws
from .jobs import set_running
from .queues import claim_next, release_slot, unclaim


class Ticket(BaseModel):
    queue_id: str


def start_next(ticket: Ticket, *, state_machine_arn: str) -> list[str]:
    started = []
    for execution in claim_next(ticket.queue_id):
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
        set_running(execution)
        started.append(execution.id)
    return started
