"""Seen signatures: a captured request is good for itself only, and a write acts once.

Neither scheme, as Tencent's SDKs use it, signs all that the routes act on: cos-python-sdk-v5 signs
the body only through its Content-Length (never Content-MD5), and the TencentCloud SDK's TC3 signs
neither X-TC-Action nor the body's meaning beyond its hash. So the API remembers each signature it
accepts until the signature expires, in a record of the table (``SIGNATURE#<hex>``; `expires` = the end
of the signature's window, for DynamoDB's TTL):

* The first use records the request's fingerprint: method, path, query, Host, X-TC-Action and a hash
  of the body. The same signature with another fingerprint - another action, another body of the same
  length, another query spelling - is refused (403).
* An identical repeat of a read (COS GET/HEAD/OPTIONS, MPS Describe*/Pull*) is served again.
* An identical repeat of a write (COS POST/PUT/DELETE/PATCH, every other MPS action) does not act
  again: it is answered idempotently, with the answer the first request got (kept on the record,
  request id included), as an SDK retry expects. While the first is still being served, or when its
  answer was too large to keep (`MAX_ANSWER`), the repeat is refused (403).

The SDKs sign with a one-second clock and no nonce, so two identical calls signed within the same
second are one request here: the second gets the first's answer. What this cannot catch is a request
changed in transit that arrives before the genuine one; sign Content-MD5 (COS) or x-tc-action (TC3)
to have the signature itself cover them.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from dataclasses import dataclass
from typing import Any

from ..exceptions import AccessDeniedError
from ..observability import logger
from ..persistence import store
from .auth import SignedRequest, signature_of

SK = "SIGNATURE"
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
READ_ACTIONS = ("Describe", "Pull")  # MPS actions that read (PullEvents hands events out, changes nothing stored)
MAX_ANSWER = 256 * 1024  # bytes of a write's answer (JSON, zlib-compressed) kept for its repeats; an item holds 400 KB


@dataclass(frozen=True)
class Use:
    """One accepted use of a signature; `answer` is set when it repeats a write that was answered."""

    pk: str
    fingerprint: str
    write: bool
    answer: dict[str, Any] | None = None

    def keep(self, result: dict[str, Any]) -> None:
        """Keep a write's answer for its repeats (a failure here must not lose the answer: it is logged)."""
        if not self.write:
            return
        packed = zlib.compress(json.dumps(result, separators=(",", ":")).encode())
        attributes: dict[str, Any] = {"answered": True}
        if len(packed) <= MAX_ANSWER:
            attributes["answer"] = packed
        try:
            store.set_attributes(self.pk, SK, matching={"fingerprint": self.fingerprint}, **attributes)
        except Exception:
            logger.exception("the answer to a signed write could not be kept for its repeats")


def is_write(request: SignedRequest, *, mps: bool) -> bool:
    if mps:
        return not _header(request, "x-tc-action").startswith(READ_ACTIONS)
    return request.method.upper() not in READ_METHODS


def fingerprint(request: SignedRequest) -> str:
    """What the routes act on, as one hash (query names as sent: another spelling is another request)."""
    parts = [request.method.upper(), request.path, sorted(request.query.items()), _header(request, "host"),
             _header(request, "x-tc-action"), hashlib.sha256(request.body).hexdigest()]
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()


def first_use(request: SignedRequest, *, mps: bool) -> Use:
    """Record a verified request's signature, or tell what its earlier use allows (raise AccessDeniedError)."""
    signature, expires = signature_of(request)
    use = Use(f"SIGNATURE#{signature}", fingerprint(request), is_write(request, mps=mps))
    found = store.claim(use.pk, SK, matching=None if use.write else {"fingerprint": use.fingerprint, "write": False},
                        fingerprint=use.fingerprint, write=use.write, expires=expires)
    if found is None:
        return use
    if found.get("fingerprint") != use.fingerprint:
        raise AccessDeniedError("this signature was already used for another request (another action, body or "
                                "query); a signature is good for the one request it was made for")
    if "answer" in found:
        packed = found["answer"]
        return Use(use.pk, use.fingerprint, use.write, json.loads(zlib.decompress(getattr(packed, "value", packed))))
    if found.get("answered"):
        raise AccessDeniedError("this signed write was already served; sign it anew to repeat it")
    raise AccessDeniedError("this signed write is being served; sign it anew to repeat it")


def _header(request: SignedRequest, name: str) -> str:
    return next((value for key, value in request.headers.items() if key.lower() == name), "")
