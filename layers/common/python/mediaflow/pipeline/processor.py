"""Claim tickets -> Step Functions executions, started in queue order, named after the execution id
so that a redelivered ticket can never start the same job twice.

One ticket starts at most CLAIMS_PER_TICKET executions, and none after its deadline; when there
may be more, it sends the next ticket: an invocation stays short whatever MaxConcurrent is. Claims
are decided in batches (`claim_next`), then the batch's executions are started
side by side (LAUNCH_THREADS calls in flight): the order is the claims' order (start_seq), not the
order in which Step Functions happens to accept them. An invocation that dies between a claim and
its start leaves the execution in the queue's claimed-but-not-started index; the next ticket of the
queue starts it (the name makes that safe if it had started after all)."""

from __future__ import annotations

import json
import math
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from pydantic import BaseModel

from .. import aws
from ..control.jobs import set_running
from ..control.queues import (
    MAX_CLAIM_BATCH,
    claim_next,
    launched,
    release_slot,
    send_ticket,
    stalled_starts,
    unclaim,
)
from ..models import Execution

CLAIMS_PER_TICKET = 10
LAUNCH_THREADS = 8  # StartExecution calls in flight at once; well under its burst (bench/README.md)
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
    started = launch_all(stalled_starts(ticket.queue_id, stalled_after), state_machine_arn, deadline)
    while len(started) < CLAIMS_PER_TICKET and time.monotonic() <= deadline:
        claimed = claim_next(ticket.queue_id, limit=min(MAX_CLAIM_BATCH, CLAIMS_PER_TICKET - len(started)))
        if not claimed:
            return started
        started += launch_all(claimed, state_machine_arn, deadline)
    send_ticket(queue_url, ticket.queue_id)  # there may be more to start: go on in a fresh invocation
    return started


def launch_all(executions: list[Execution], state_machine_arn: str, deadline: float = math.inf) -> list[str]:
    """Start the claimed executions, several at once, and return the ids started. One that fails is put
    back in its place (by `launch`) and the first failure is raised once the others are started; one
    not begun by `deadline` is put back too (under load a batch can outlast the invocation), for a
    fresh ticket to start in order."""
    if not executions:
        return []
    with ThreadPoolExecutor(min(LAUNCH_THREADS, len(executions))) as pool:
        outcomes = list(pool.map(lambda execution: _launched_or_error(execution, state_machine_arn, deadline),
                                 executions))
    failures = [outcome for outcome in outcomes if isinstance(outcome, Exception)]
    if failures:
        raise failures[0]
    return [execution.id for execution, outcome in zip(executions, outcomes) if outcome is True]


def _launched_or_error(execution: Execution, state_machine_arn: str, deadline: float) -> bool | Exception:
    if time.monotonic() > deadline:
        unclaim(execution)
        release_slot(execution.queue_id)
        return False
    try:
        launch(execution, state_machine_arn)
        return True
    except Exception as error:  # noqa: BLE001 (raised by launch_all once the others are started)
        return error
