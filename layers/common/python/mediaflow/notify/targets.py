"""Which queues and topics a notification rule may push to.

The Notifier's role may send to the queues and topics of the account whose names match the template's
`NotifyTargetNames`, and never to the stack's own queues: a rule naming a claim-ticket queue would let
anyone who may set a rule inject work (a confused deputy). The same check runs before each delivery
(so a refusal is recorded with its reason) and when a rule is set (so it is refused at once)."""

from __future__ import annotations

import os
from fnmatch import fnmatchcase

from ..exceptions import InvalidInputError
from ..models import NotifyConfig


def target_name(name: str) -> str:
    """The queue or topic name of a name, a queue URL or an ARN."""
    return name.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1]


def check_target(rule: NotifyConfig) -> None:
    """Refuse a message-queue rule whose target the stack may not push to."""
    if rule.Type == "Url" or not rule.MqName:
        return
    name = target_name(rule.MqName)
    own = {queue.strip() for queue in os.environ.get("STACK_QUEUES", "").split(",") if queue.strip()}
    if name in own:
        raise InvalidInputError(f"MqName: {name} is one of this stack's own queues; notifications cannot go there")
    pattern = os.environ.get("NOTIFY_TARGET_NAMES") or "*"
    if not fnmatchcase(name, pattern):
        raise InvalidInputError(f"MqName: {name} does not match the names notifications may go to "
                                f"({pattern}, the stack's NotifyTargetNames)")
