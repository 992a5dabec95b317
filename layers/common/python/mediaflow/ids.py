"""Ids in Tencent's shapes: a letter and 32 lowercase hex digits (templates: 't' and 33)."""

import hashlib
import re
import uuid

JOB, RUN, WORKFLOW, QUEUE, TEMPLATE = "j", "i", "w", "p", "t"
SPEECH_JOB, DOC_JOB = "s", "d"  # the job ids of the speech and document queues
_HEX32 = re.compile(r"^[0-9a-f]{32}$")


def new_id(prefix: str) -> str:
    return prefix + uuid.uuid4().hex


def stable_id(prefix: str, *parts: str) -> str:
    """The same parts always give the same id: this is what makes event handling idempotent."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]
    return prefix + digest


def is_id(prefix: str, value: str) -> bool:
    return isinstance(value, str) and value[:1] == prefix and bool(_HEX32.match(value[1:]))
