"""Callback signatures.

Owners' callbacks are signed with the Standard Webhooks scheme
(https://www.standardwebhooks.com/): HMAC-SHA256 over ``"{id}.{timestamp}.{body}"``
keyed with the base64 secret after ``whsec_``, sent as ``webhook-id``,
``webhook-timestamp`` and ``webhook-signature: v1,<base64>``. Any Standard Webhooks
library can verify what we send; ``verify`` is the same check for our own receivers
and tests. ``mps_sign`` is the separate Tencent MPS notification ``Sign``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Mapping

SECRET_PREFIX = "whsec_"
SIGNATURE_VERSION = "v1"
DEFAULT_TOLERANCE = 300  # seconds; the spec's suggested replay window

HEADER_ID = "webhook-id"
HEADER_TIMESTAMP = "webhook-timestamp"
HEADER_SIGNATURE = "webhook-signature"


def new_secret() -> str:
    """A fresh signing secret: ``whsec_`` + base64 of 24 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode("ascii")


def _key(secret: str) -> bytes:
    # Standard Webhooks libraries accept the secret with or without its prefix.
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)


def _digest(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{msg_id}.{timestamp}.".encode() + body
    mac = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return base64.b64encode(mac).decode("ascii")


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value for one message: ``v1,<base64 HMAC-SHA256>``."""
    return f"{SIGNATURE_VERSION},{_digest(secret, msg_id, timestamp, body)}"


def signature_headers(secret: str, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three Standard Webhooks headers to send with ``body``."""
    return {
        HEADER_ID: msg_id,
        HEADER_TIMESTAMP: str(timestamp),
        HEADER_SIGNATURE: sign(secret, msg_id, timestamp, body),
    }


def verify(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    tolerance: int = DEFAULT_TOLERANCE,
    now: int | None = None,
) -> None:
    """Check a received message; raise ``ValueError`` saying why it is not authentic.

    ``headers`` is looked up case-insensitively. The signature header may carry several
    space-separated entries (key rotation); one matching ``v1`` entry is enough.
    """
    lowered = {name.lower(): value for name, value in headers.items()}
    msg_id = _required(lowered, HEADER_ID)
    raw_ts = _required(lowered, HEADER_TIMESTAMP)
    signatures = _required(lowered, HEADER_SIGNATURE)

    try:
        timestamp = int(raw_ts)
    except ValueError:
        raise ValueError(f"{HEADER_TIMESTAMP} is not an integer: {raw_ts!r}") from None
    current = int(time.time()) if now is None else now
    # Both directions: an old timestamp is a replay, a future one a skewed or forged sender.
    if abs(current - timestamp) > tolerance:
        raise ValueError(f"{HEADER_TIMESTAMP} {timestamp} is more than {tolerance}s from now ({current})")

    expected = _digest(secret, msg_id, timestamp, body).encode("ascii")
    for entry in signatures.split():
        version, _, value = entry.partition(",")
        if version == SIGNATURE_VERSION and hmac.compare_digest(value.encode("ascii", "replace"), expected):
            return
    raise ValueError("no matching signature in webhook-signature")


def _required(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name)
    if not value:
        raise ValueError(f"missing header {name}")
    return value


def mps_sign(timestamp: int, notify_key: str) -> str:
    """Tencent MPS notification ``Sign``: MD5 hex of ``str(timestamp) + notify_key``."""
    # MD5 is what the MPS protocol specifies; it is not our choice of MAC.
    return hashlib.md5(f"{timestamp}{notify_key}".encode(), usedforsecurity=False).hexdigest()
