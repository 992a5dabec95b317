"""Which queues and topics a notification rule may push to.

The Notifier's role may send to the queues and topics of the account whose names match the template's
`NotifyTargetNames`, and never to the stack's own queues (STACK_QUEUES: every queue of the template, the
feature queues, the notification and upload-event queues and all their dead-letter queues): a rule naming
one would let anyone who may set a rule inject work or poison a queue (a confused deputy). The same check
runs when a rule is set (the API: refused at once) and before each delivery (the Notifier: the refusal is
recorded with its reason), on the name a queue URL or ARN comes down to."""

from __future__ import annotations

import os
import re
from fnmatch import fnmatchcase
from urllib.parse import unquote, urlsplit

from ..exceptions import InvalidInputError
from ..models import NotifyConfig

# A queue URL's path: /<account>/<queue name>, nothing more (decoded first), so that the name checked
# is the queue SQS sends to.
_QUEUE_PATH = re.compile(r"/[^/]+/([^/]+)/?")


def is_url(name: str) -> bool:
    return name.lower().startswith(("https://", "http://"))


def target_name(name: str) -> str:
    """The queue or topic name of a name, a queue URL (its last path segment, decoded) or an ARN."""
    if is_url(name):
        name = unquote(urlsplit(name).path)
    return name.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1]


def _check_queue_url(url: str) -> None:
    parts = urlsplit(url)
    path = _QUEUE_PATH.fullmatch(unquote(parts.path))
    if parts.query or parts.fragment or "@" in parts.netloc or not path or path.group(1) in (".", ".."):
        raise InvalidInputError("MqName: a queue URL is http(s)://<host>/<account>/<queue name>, "
                                "with no user, query or fragment")


def check_target(rule: NotifyConfig) -> None:
    """Refuse a message-queue rule whose target the stack may not push to."""
    if rule.Type == "Url" or not rule.MqName:
        return
    if is_url(rule.MqName):
        _check_queue_url(rule.MqName)
    name = target_name(rule.MqName)
    own = {queue.strip() for queue in os.environ.get("STACK_QUEUES", "").split(",") if queue.strip()}
    if name in own:
        raise InvalidInputError(f"MqName: {name} is one of this stack's own queues; notifications cannot go there")
    pattern = os.environ.get("NOTIFY_TARGET_NAMES") or "*"
    if not fnmatchcase(name, pattern):
        raise InvalidInputError(f"MqName: {name} does not match the names notifications may go to "
                                f"({pattern}, the stack's NotifyTargetNames)")
