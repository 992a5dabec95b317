"""The reliable inbox (VOD's "reliable callback"): every event of a bucket, kept until it is confirmed.

Items under pk ``INBOX#<bucket>``:

| sk                              | what                                                              |
|---------------------------------|-------------------------------------------------------------------|
| ``EVENT#<at, UTC ISO>#<id>``    | one event, oldest first; ``visible_at`` (epoch seconds) is when it |
|                                 | may be pulled (again), ``token`` the random part of its handle     |
| ``ID#<id>``                     | the guard that keeps an event once whatever ``at`` a repeat has     |

Pulling claims an event by moving ``visible_at`` past the visibility window with a conditional
update, so two pullers never get one event in the same window, and an unconfirmed event simply
becomes visible again. Only ``confirm`` deletes an event; ``expires`` (a DynamoDB TTL) drops events
nobody confirmed after about 4 days, as VOD does.
"""

from __future__ import annotations

import base64
import os
import secrets
import time
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError
from pydantic import BaseModel

from .. import config
from ..exceptions import InvalidInputError, TransientError
from ..persistence import store

VISIBILITY_SECONDS = 30.0
MAX_EVENTS = 16
MAX_WAIT_SECONDS = 5.0
KEEP_DAYS = 4
POLL_SECONDS = 0.25
_EVENT, _GUARD = "EVENT#", "ID#"
# Attribute names go through placeholders: `token` and friends may be DynamoDB reserved words.
_NAMES = {"#v": "visible_at", "#t": "token"}


class Kept(BaseModel):
    """An event as the inbox stores it (the item's `doc`)."""

    id: str
    type: str
    content: dict[str, Any]


def keep(bucket: str, event_id: str, event_type: str, content: dict, at: datetime) -> bool:
    """Store one event; False when this id was kept before (then nothing is written)."""
    pk = _pk(bucket)
    guard = {"pk": pk, "sk": _GUARD + event_id}
    # The usual repeat is a retried step: answer it with a read rather than a cancelled transaction.
    if store.table().get_item(Key=guard, ConsistentRead=True).get("Item"):
        return False
    # The guard outlives a confirm (it is not deleted with its event, only by the TTL), so a late
    # duplicate keep after the event was confirmed is still ignored instead of delivered again.
    expires = int(time.time()) + KEEP_DAYS * 86400
    doc = Kept(id=event_id, type=event_type, content=content).model_dump_json()
    absent, name = "attribute_not_exists(pk)", config.table_name()
    writes = [
        {"Put": {"TableName": name, "Item": {**guard, "expires": expires}, "ConditionExpression": absent}},
        {"Put": {"TableName": name, "ConditionExpression": absent,
                 "Item": {"pk": pk, "sk": f"{_EVENT}{_utc_iso(at)}#{event_id}", "doc": doc,
                          "visible_at": 0, "expires": expires}}},
    ]
    for attempt in range(5):
        try:
            store.table().meta.client.transact_write_items(TransactItems=writes)
            return True
        except ClientError as error:
            reasons = [reason.get("Code") for reason in error.response.get("CancellationReasons", [])]
            if "ConditionalCheckFailed" in reasons:
                return False
            if "TransactionConflict" not in reasons:
                raise
            time.sleep(0.05 * (attempt + 1))  # a concurrent keep of the same id: its outcome decides on retry
    raise TransientError(f"event {event_id} could not be kept: too many concurrent writes")


def pull(bucket: str, *, limit: int = MAX_EVENTS, wait: float = MAX_WAIT_SECONDS,
         visibility: float | None = None) -> list[dict]:
    """Up to `limit` pending events, oldest first, each hidden from other pulls for `visibility`
    seconds; when none is pending, wait up to `wait` seconds for one."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_EVENTS:
        raise InvalidInputError(f"limit: an integer from 1 to {MAX_EVENTS}", code="InvalidParameterValue")
    if not 0 <= wait <= MAX_WAIT_SECONDS:
        raise InvalidInputError(f"wait: 0 to {MAX_WAIT_SECONDS} seconds", code="InvalidParameterValue")
    window = _visibility(visibility)
    deadline = time.monotonic() + wait
    while True:
        events = _claim(_pk(bucket), limit, window)
        left = deadline - time.monotonic()
        if events or left <= 0:
            return events
        time.sleep(min(POLL_SECONDS, left))


def confirm(bucket: str, handles: list[str]) -> None:
    """Delete the pulled events these handles name. Each handle is confirmed on its own: a stale one
    is refused without holding back the others (which would only make them be delivered again)."""
    if (not isinstance(handles, list) or not 1 <= len(handles) <= MAX_EVENTS
            or not all(isinstance(handle, str) for handle in handles)):
        raise InvalidInputError(f"EventHandles: 1 to {MAX_EVENTS} handles (strings)", code="InvalidParameterValue")
    # Every handle is checked before anything is deleted.
    parsed = [(index, handle, *_parse_handle(handle, index)) for index, handle in enumerate(handles)]
    pk, seen, refused = _pk(bucket), set[str](), list[str]()
    for index, handle, sk, token in parsed:
        if handle in seen:  # a repeated handle counts once
            continue
        seen.add(handle)
        try:
            store.table().delete_item(
                Key={"pk": pk, "sk": sk},
                ConditionExpression="#t = :token AND #v > :now",  # still this pull's, within its window
                ExpressionAttributeNames=_NAMES,
                ExpressionAttributeValues={":token": token, ":now": _number(time.time())},
            )
        except ClientError as error:
            if not store.is_condition_failure(error):
                raise
            refused.append(f"EventHandles[{index}]: {_why_refused(pk, sk, token)}")
    if refused:
        others = "; the other handles were confirmed" if len(refused) < len(seen) else ""
        raise InvalidInputError("; ".join(refused) + others, code="InvalidParameterValue")


# --------------------------------------------------------------------------- helpers
def _claim(pk: str, limit: int, window: float) -> list[dict]:
    now = time.time()
    table = store.table()
    query: dict[str, Any] = {
        "KeyConditionExpression": Key("pk").eq(pk) & Key("sk").begins_with(_EVENT),
        "FilterExpression": Attr("visible_at").lte(_number(now)),
        "ConsistentRead": True,
    }
    claimed: list[dict] = []
    while True:
        page = table.query(**query)
        for item in page["Items"]:
            token = secrets.token_hex(16)
            try:
                # Only if nobody claimed it since the read (and it was not confirmed: update would recreate it).
                table.update_item(
                    Key={"pk": pk, "sk": item["sk"]},
                    UpdateExpression="SET #v = :until, #t = :token",
                    ConditionExpression="attribute_exists(pk) AND #v <= :now",
                    ExpressionAttributeNames=_NAMES,
                    ExpressionAttributeValues={":until": _number(now + window), ":token": token,
                                               ":now": _number(now)},
                )
            except ClientError as error:
                if store.is_condition_failure(error):
                    continue
                raise
            kept = Kept.model_validate_json(item["doc"])
            claimed.append({"EventHandle": _handle(item["sk"], token), "EventType": kept.type, "EventId": kept.id,
                            **kept.content})
            if len(claimed) == limit:
                return claimed
        if "LastEvaluatedKey" not in page:
            return claimed
        query["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _why_refused(pk: str, sk: str, token: str) -> str:
    item = store.table().get_item(Key={"pk": pk, "sk": sk}, ConsistentRead=True).get("Item")
    if item is None:
        return "no such event: unknown, or already confirmed"
    if item.get("token") != token:
        return "expired: the event was pulled again since, with a new handle"
    return "expired: not confirmed within the visibility window; the event can be pulled again"


def _visibility(visibility: float | None) -> float:
    if visibility is None:
        visibility = float(os.environ.get("INBOX_VISIBILITY_SECONDS") or VISIBILITY_SECONDS)
    if not visibility > 0:
        raise InvalidInputError("visibility: a positive number of seconds", code="InvalidParameterValue")
    return visibility


def _pk(bucket: str) -> str:
    return f"INBOX#{bucket}"


def _utc_iso(at: datetime) -> str:
    """One format for every `at`, so that sort keys order by time (a naive time is taken as UTC)."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=timezone.utc)
    return at.astimezone(timezone.utc).isoformat(timespec="microseconds")


def _number(seconds: float) -> Decimal:
    return Decimal(f"{seconds:.6f}")


def _handle(sk: str, token: str) -> str:
    """Opaque to callers; it names the event's item so that confirm needs no lookup."""
    return base64.urlsafe_b64encode(f"{sk}\x1f{token}".encode()).decode().rstrip("=")


def _parse_handle(handle: str, index: int) -> tuple[str, str]:
    try:
        sk, token = base64.urlsafe_b64decode(handle + "=" * (-len(handle) % 4)).decode().split("\x1f")
    except ValueError:  # bad base64, not UTF-8, or not two parts
        sk, token = "", ""
    if not sk.startswith(_EVENT) or not token:
        raise InvalidInputError(f"EventHandles[{index}]: not an event handle that PullEvents returned",
                                code="InvalidParameterValue")
    return sk, token
