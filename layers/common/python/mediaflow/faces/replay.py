"""Seen signatures: a captured request is good for itself only, and a write acts once.

Neither scheme, as Tencent's SDKs use it, signs all that the routes act on: cos-python-sdk-v5 signs
the body only through its Content-Length (never Content-MD5), and the TencentCloud SDK's TC3 does not
sign X-TC-Action. So the API remembers each request it serves under a signature until the signature
expires: a record per (signature, request fingerprint) in the table, ``SIGNATURE#<hex>`` /
``<fingerprint>``, with `expires` = the end of the signature's window for DynamoDB's TTL. The
fingerprint covers what the routes act on: method, path, query, Host, X-TC-Action and the body.

* Another request under a signature already used - another action, another body of the same length,
  another query spelling - is refused (403) once `GRACE` seconds have passed since the signature was
  made (X-TC-Timestamp; q-sign-time's start + the 60 s the COS SDK signs back) or first used. The
  grace is for the SDKs themselves: they sign by the second with no nonce, so two calls a client makes
  within one second to the same path with bodies of the same length (a queue paused, then resumed),
  or two actions with the same body (DescribeTasks and PullEvents with ``{}``), share one signature.
  A request captured from a log or a proxy and used later is refused; one changed in transit within
  those seconds is not (nothing can tell it from the client's own: sign Content-MD5, or x-tc-action,
  to have the signature cover them).
* An identical repeat of a read (COS GET/HEAD/OPTIONS, MPS Describe*/Pull*) is served again.
* An identical repeat of a write (COS POST/PUT/DELETE/PATCH, every other MPS action) does not act
  again: it is answered idempotently, with the answer the first one got (kept on the record, request
  id included), as an SDK retry expects. While the first is still being served, or when its answer
  was too large to keep (`MAX_ANSWER`), the repeat is refused (403).
"""

from __future__ import annotations

import hashlib
import json
import time
import zlib
from dataclasses import dataclass
from typing import Any

from ..exceptions import AccessDeniedError
from ..observability import logger
from ..persistence import store
from .auth import SignedRequest, signature_of

GRACE = 5  # seconds after a signature is made (or first used) in which another request may share it
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
READ_ACTIONS = ("Describe", "Pull")  # MPS actions that read (PullEvents hands events out, changes nothing stored)
MAX_ANSWER = 256 * 1024  # bytes of a write's answer (JSON, zlib-compressed) kept for its repeats; an item holds 400 KB


@dataclass(frozen=True)
class Use:
    """One accepted use of a signature; `answer` is set when it repeats a write that was answered."""

    pk: str
    sk: str  # the request's fingerprint
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
            store.set_attributes(self.pk, self.sk, **attributes)
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


def first_use(request: SignedRequest, *, mps: bool, now: float | None = None) -> Use:
    """Record a verified request under its signature, or tell what an earlier use allows (or raise
    AccessDeniedError)."""
    now = time.time() if now is None else now
    signature = signature_of(request)
    use = Use(f"SIGNATURE#{signature.value}", fingerprint(request), is_write(request, mps=mps))
    found = store.claim(use.pk, use.sk, write=use.write, seen=int(now), expires=signature.expires)
    if found is None:  # the first time this request comes under this signature: was another one first?
        others = [item for item in store.partition(use.pk, "seen") if item["sk"] != use.sk]
        if others and now > min([signature.signed_at, *(int(item["seen"]) for item in others)]) + GRACE:
            store.delete(use.pk, use.sk)
            raise AccessDeniedError("this signature was already used for another request (another action, body or "
                                    "query); a signature is good for the one request it was made for")
        return use
    if not found:  # expired and deleted since: never the case for a signature still valid
        raise AccessDeniedError("this signature is no longer accepted")
    if not use.write:
        return use
    if "answer" in found:
        packed = found["answer"]
        return Use(use.pk, use.sk, use.write, json.loads(zlib.decompress(getattr(packed, "value", packed))))
    if found.get("answered"):
        raise AccessDeniedError("this signed write was already served; sign it anew to repeat it")
    raise AccessDeniedError("this signed write is being served; sign it anew to repeat it")


def _header(request: SignedRequest, name: str) -> str:
    return next((value for key, value in request.headers.items() if key.lower() == name), "")
