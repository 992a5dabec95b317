"""How large the states of an execution got: the largest input, output or parameters among its
history events, in the UTF-8 bytes Step Functions counts against its 256 KiB limit
(`States.DataLimitExceeded`). Works against any endpoint that serves GetExecutionHistory (the
emulator, AWS)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

STATE_LIMIT = 256 * 1024  # bytes, of a state's input or output, and of a task's parameters or result
FIELDS = ("input", "output", "parameters")


@dataclass(frozen=True)
class Payload:
    size: int  # bytes
    event: str  # the history event that carried it, and its state: "TaskStateExited Plan"
    execution_arn: str = ""

    def __str__(self) -> str:
        return f"{self.size:,} B ({self.size / STATE_LIMIT:.1%} of 256 KiB) at {self.event}"


def history(client: Any, execution_arn: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"executionArn": execution_arn, "maxResults": 1000}
    while True:
        page = client.get_execution_history(**kwargs)
        events += page["events"]
        if not page.get("nextToken"):
            return events
        kwargs["nextToken"] = page["nextToken"]


def largest_payload(client: Any, execution_arn: str) -> Payload:
    """The largest payload of one execution (`client`: a boto3 Step Functions client)."""
    largest = Payload(0, "", execution_arn)
    for event in history(client, execution_arn):
        for name, details in event.items():
            if not name.endswith("EventDetails") or not isinstance(details, dict):
                continue
            for field in FIELDS:
                value = details.get(field)
                if isinstance(value, str) and len(value.encode()) > largest.size:
                    where = " ".join(filter(None, (event.get("type"), details.get("name"))))
                    largest = Payload(len(value.encode()), where, execution_arn)
    return largest


def largest_of_state_machine(client: Any, state_machine_arn: str) -> Payload:
    """The largest payload of all executions of a state machine (a test suite's closing figure)."""
    largest = Payload(0, "")
    for page in client.get_paginator("list_executions").paginate(stateMachineArn=state_machine_arn):
        for execution in page["executions"]:
            found = largest_payload(client, execution["executionArn"])
            if found.size > largest.size:
                largest = found
    return largest
