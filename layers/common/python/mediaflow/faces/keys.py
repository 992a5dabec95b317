"""API keys and what each may do: a key opens only the buckets and the kinds of operation its policy names.

The keys secret (the stack's AccessKeys) holds one pair, or a list of them:

    {"SecretId": "AKID...", "SecretKey": "...", "Buckets": ["media-*", "reports"], "Actions": ["read", "submit"]}

`Buckets` are names, or prefixes ending in `*` (`*` alone: every bucket); `Actions` are the four kinds
below. A pair without them may do everything (the key the template generates, and older secrets).
Each operation needs one kind (`action_of`); an unknown operation needs `admin`, so a new route is
closed until it is classified here.

* `read`: Describe, List and Get calls, the event inbox (PullEvents, ConfirmEvents);
* `submit`: jobs, ProcessMedia, workflow triggers, cancelling jobs;
* `configure`: workflows and templates;
* `admin`: queues and their callback rules, bucket activation.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterable
from fnmatch import fnmatchcase
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..exceptions import AccessDeniedError

Action = Literal["read", "submit", "configure", "admin"]
ACTIONS: tuple[Action, ...] = ("read", "submit", "configure", "admin")
UNAUTHORISED = "AuthFailure.UnauthorizedOperation"  # the MPS face's code for a refused permission

# MPS actions (X-TC-Action) and COS routes (method, path) -> the kind of operation they are.
MPS_ACTIONS: dict[str, Action] = {"ProcessMedia": "submit", "DescribeTaskDetail": "read", "DescribeTasks": "read",
                                  "PullEvents": "read", "ConfirmEvents": "read", "ParseNotification": "read", "ManageTask": "submit", "EditMedia": "submit",
                                  "DescribeMediaMetaData": "read",
                                  "DescribeSchedules": "read", "CreateSchedule": "configure",
                                  "ModifySchedule": "configure", "EnableSchedule": "configure",
                                  "DisableSchedule": "configure", "DeleteSchedule": "configure",
                                  "DescribeWorkflows": "read", "CreateWorkflow": "configure",
                                  "ResetWorkflow": "configure", "EnableWorkflow": "configure",
                                  "DisableWorkflow": "configure", "DeleteWorkflow": "configure",
                                  **{f"{verb}{kind}Template{'s' if verb == 'Describe' else ''}":
                                     "read" if verb == "Describe" else "configure"
                                     for verb in ("Create", "Describe", "Modify", "Delete")
                                     for kind in ("Transcode", "SnapshotByTimeOffset", "SampleSnapshot",
                                                  "ImageSprite", "AnimatedGraphics", "Watermark")}}
COS_ROUTES: tuple[tuple[str, re.Pattern[str], Action], ...] = tuple(
    (method, re.compile(pattern), action) for method, pattern, action in (
        ("GET", r"/.*", "read"),
        ("POST", r"/(jobs|asr_jobs|doc_jobs|triggerworkflow)", "submit"),
        ("PUT", r"/(jobs|asr_jobs|doc_jobs)/[^/]+", "submit"),
        ("POST", r"/(template|workflow)", "configure"),
        ("PUT", r"/(template|workflow)/[^/]+", "configure"),
        ("DELETE", r"/(template|workflow)/[^/]+", "configure"),
        ("PUT", r"/(queue|asrqueue|docqueue)/[^/]+", "admin"),
        ("POST", r"/(mediabucket|asrbucket|docbucket)", "admin"),
    ))


class ApiKey(BaseModel):
    """One key pair of the secret, with its policy."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    SecretId: str
    SecretKey: str = Field(min_length=1)
    Buckets: list[str] = Field(default_factory=lambda: ["*"])
    Actions: list[Action] = Field(default_factory=lambda: list(ACTIONS))

    @field_validator("Buckets")
    @classmethod
    def _patterns(cls, buckets: list[str]) -> list[str]:
        for pattern in buckets:
            if not re.fullmatch(r"[a-z0-9][a-z0-9.-]{0,62}\*?|\*", pattern):
                raise ValueError(f"{pattern!r} is not a bucket name, a prefix ending in *, or *")
        return buckets

    def may(self, action: Action, bucket: str) -> bool:
        return action in self.Actions and self.sees(bucket)

    def sees(self, bucket: str) -> bool:
        """Whether the key opens this bucket at all (listings across buckets show only those)."""
        return any(fnmatchcase(bucket, pattern) for pattern in self.Buckets)

    def public(self) -> dict[str, object]:
        return {"SecretId": self.SecretId, "Buckets": self.Buckets, "Actions": self.Actions}


def parse_keys(secret_string: str) -> dict[str, ApiKey]:
    """The secret's pairs by SecretId; a malformed entry is skipped (it opens nothing)."""
    try:
        entries = json.loads(secret_string)
    except ValueError:
        return {}
    entries = [entries] if isinstance(entries, dict) else entries if isinstance(entries, list) else []
    keys = {}
    for entry in entries:
        try:
            key = ApiKey.model_validate(entry)
        except ValidationError:
            continue
        keys[key.SecretId] = key
    return keys


def action_of(method: str, path: str, tc_action: str | None = None) -> Action:
    """The kind of operation a request is (path without /buckets/<b>); `admin` when unknown."""
    if tc_action is not None:
        return MPS_ACTIONS.get(tc_action, "admin")
    for route_method, pattern, action in COS_ROUTES:
        if method.upper() == route_method and pattern.fullmatch(path.rstrip("/") or "/"):
            return action
    return "admin"


def require(key: ApiKey, action: Action, bucket: str | None, *, code: str = "AccessDenied") -> None:
    """Refuse, naming the missing permission, what the key may not do on the bucket (None: the kind of
    operation only, where the buckets are checked once the request is read)."""
    if action in key.Actions if bucket is None else key.may(action, bucket):
        return
    missing = action if bucket is None or key.sees(bucket) else f"{action} on bucket {bucket}"
    raise AccessDeniedError(f"the key {key.SecretId} lacks the permission {missing}", code=code)


# ------------------------------------------------------------------ the keys secret, changed by the CLI
def new_key(buckets: Iterable[str], actions: Iterable[str]) -> ApiKey:
    return ApiKey(SecretId="AKID" + secrets.token_hex(16), SecretKey=secrets.token_urlsafe(30),
                  Buckets=list(buckets) or ["*"], Actions=list(actions) or list(ACTIONS))


def with_key(keys: dict[str, ApiKey], key: ApiKey) -> str:
    return _dump([*keys.values(), key])


def without_key(keys: dict[str, ApiKey], key_id: str) -> str:
    if key_id not in keys:
        raise KeyError(key_id)
    if len(keys) == 1:
        raise ValueError("the last key cannot be revoked: create another first")
    return _dump([key for name, key in keys.items() if name != key_id])


def _dump(keys: list[ApiKey]) -> str:
    return json.dumps([key.model_dump() for key in keys])
