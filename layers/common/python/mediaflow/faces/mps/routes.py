"""The MPS-style JSON face (TencentCloud API 3.0): POST / with the action in X-TC-Action."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from pydantic import BaseModel, Field

from ...config import setting
from ...exceptions import InvalidInputError, NotFoundError
from ...notify import inbox
from ..keys import UNAUTHORISED, require
from ..routing import BUCKET_PATTERN, body_bytes
from . import metadata, schedules, templates, workflows
from .edit import plan_edit
from .tasks import abort_task, describe_task, describe_tasks, process_media, queue_task
from .wire import ParseNotificationRequest, Wire, parse

router = Router()
# Bounds on a request body, checked before it is parsed: the largest ProcessMedia (20 subtasks, their
# time points) is far smaller, and whatever a request stores stays well within a table item (400 KB).
MAX_BODY_BYTES = 256 * 1024
MAX_DEPTH = 16  # objects and arrays within each other; ProcessMedia's deepest is 5
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_BRACKET = re.compile(rb"[][{}]")


def json_depth(body: bytes) -> int:
    """How deep objects and arrays nest in a JSON text, counted without parsing it (strings skipped)."""
    depth = deepest = 0
    for match in _BRACKET.finditer(_JSON_STRING.sub(b"", body)):
        depth += 1 if match.group() in (b"[", b"{") else -1
        deepest = max(deepest, depth)
    return deepest


def read_body(body: bytes) -> dict[str, Any]:
    """The request's JSON object, refused (InvalidParameter) when too large, nested too deep, not JSON,
    or holding a lone surrogate (a string no storage or answer can carry)."""
    if len(body) > MAX_BODY_BYTES:
        raise InvalidInputError(f"the request body is {len(body)} bytes; at most {MAX_BODY_BYTES} are accepted",
                                code="InvalidParameter")
    if json_depth(body) > MAX_DEPTH:
        raise InvalidInputError(f"the request body nests objects and arrays more than {MAX_DEPTH} deep",
                                code="InvalidParameter")
    try:
        parsed = json.loads(body or b"{}")
    except (ValueError, RecursionError) as error:  # RecursionError: never, with the depth bounded
        raise InvalidInputError(f"the request body is not JSON: {error}", code="InvalidParameter") from error
    try:
        json.dumps(parsed, ensure_ascii=False).encode()
    except UnicodeEncodeError as error:  # "\ud800" parses as a string that no UTF-8 text can hold
        raise InvalidInputError("the request body holds a lone surrogate, which is not a character",
                                code="InvalidParameter") from error
    if not isinstance(parsed, dict):
        raise InvalidInputError("the request body must be a JSON object", code="InvalidParameter")
    return parsed


def _process_media(body: dict[str, Any]) -> dict[str, Any]:
    task_id = process_media(body, default_bucket=setting("INPUT_BUCKET"), media_queue_url=setting("MEDIA_QUEUE_URL"),
                            api_key=router.context.get("key"))
    return {"TaskId": task_id}


class DescribeTaskDetailRequest(Wire):
    TaskId: str = Field(min_length=1, max_length=128)


class ManageTaskRequest(Wire):
    OperationType: Literal["Abort"]
    TaskId: str = Field(min_length=1, max_length=128)


def _manage_task(body: dict[str, Any]) -> dict[str, Any]:
    request = parse(ManageTaskRequest, body)
    abort_task(request.TaskId, router.context.get("key"))
    return {}


class DescribeTasksRequest(Wire):
    Status: Literal["", "WAITING", "PROCESSING", "FINISH"] | None = None
    Limit: int = Field(default=10, ge=1, le=100, strict=True)
    ScrollToken: str | None = Field(default=None, max_length=1024)


def _edit_media(body: dict[str, Any]) -> dict[str, Any]:
    task_id = queue_task(plan_edit(body), default_bucket=setting("INPUT_BUCKET"),
                         media_queue_url=setting("MEDIA_QUEUE_URL"), api_key=router.context.get("key"))
    return {"TaskId": task_id}


def _describe_task_detail(body: dict[str, Any]) -> dict[str, Any]:
    request = DescribeTaskDetailRequest.model_validate(body)
    return describe_task(request.TaskId, router.context.get("key"))


def _describe_tasks(body: dict[str, Any]) -> dict[str, Any]:
    request = DescribeTasksRequest.model_validate(body)
    return describe_tasks(status=request.Status, limit=request.Limit, scroll_token=request.ScrollToken,
                          api_key=router.context.get("key"))


class PullEventsRequest(BaseModel):
    Bucket: str | None = Field(default=None, pattern=BUCKET_PATTERN)  # whose inbox; the stack's input bucket if unset


class ConfirmEventsRequest(BaseModel):
    EventHandles: list[str] = Field(min_length=1, max_length=inbox.MAX_EVENTS)
    Bucket: str | None = Field(default=None, pattern=BUCKET_PATTERN)


def _pull_events(body: dict[str, Any]) -> dict[str, Any]:
    request = PullEventsRequest.model_validate(body)
    return {"EventSet": inbox.pull(_readable(request.Bucket or router.context["bucket"]))}


def _confirm_events(body: dict[str, Any]) -> dict[str, Any]:
    request = ConfirmEventsRequest.model_validate(body)
    inbox.confirm(_readable(request.Bucket or router.context["bucket"]), request.EventHandles)
    return {}


def _readable(bucket: str) -> str:
    """The bucket whose inbox is read, once the caller's key is known to open it."""
    if router.context.get("key") is not None:
        require(router.context["key"], "read", bucket, code=UNAUTHORISED)
    return bucket


# The fields of ParseNotificationResponse: what a pushed message holds, null where it has none.
NOTIFICATION_FIELDS = ("EventType", "WorkflowTaskEvent", "EditMediaTaskEvent", "ScheduleTaskEvent", "BatchTaskEvent",
                       "ExtractBlindWatermarkTask", "SessionId", "SessionContext", "Timestamp", "Sign")


def _parse_notification(body: dict[str, Any]) -> dict[str, Any]:
    """The event in a message the service pushed (its HTTP body or queue message), parsed server-side."""
    content = parse(ParseNotificationRequest, body).Content
    try:
        event = json.loads(content)
    except ValueError:
        event = None
    if not isinstance(event, dict) or not isinstance(event.get("EventType"), str):
        raise InvalidInputError("Content: not a notification of this service (a JSON object with EventType)",
                                code="InvalidParameterValue")
    return {name: event.get(name) for name in NOTIFICATION_FIELDS}


def _with_key(handle: Callable[[dict[str, Any], Any], dict[str, Any]]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda body: handle(body, router.context.get("key"))


ACTIONS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "ProcessMedia": _process_media,
    "DescribeTaskDetail": _describe_task_detail,
    "DescribeTasks": _describe_tasks,
    "PullEvents": _pull_events,
    "ConfirmEvents": _confirm_events,
    "ParseNotification": _parse_notification,
    "ManageTask": _manage_task,
    "EditMedia": _edit_media,
    "CreateWorkflow": _with_key(workflows.create),
    "ResetWorkflow": _with_key(workflows.reset),
    "EnableWorkflow": _with_key(workflows.switch("Active")),
    "DisableWorkflow": _with_key(workflows.switch("Paused")),
    "DeleteWorkflow": _with_key(workflows.delete()),
    "DescribeWorkflows": _with_key(workflows.describe),
    **{name: _with_key(handle) for name, handle in templates.ACTIONS.items()},
    "CreateSchedule": _with_key(schedules.create),
    "ModifySchedule": _with_key(schedules.modify),
    "EnableSchedule": _with_key(workflows.switch("Active", "Schedule")),
    "DisableSchedule": _with_key(workflows.switch("Paused", "Schedule")),
    "DeleteSchedule": _with_key(workflows.delete("Schedule")),
    "DescribeSchedules": _with_key(schedules.describe),
    "DescribeMediaMetaData": _with_key(metadata.describe),
}


@router.post("/")
def action() -> Response[str]:
    name = router.current_event.headers.get("x-tc-action")
    if name is None or router.context.get("face") != "mps":
        # Not an MPS call (faces.app.face_of: POST / with X-TC-Action), e.g. a COS-signed POST /buckets/<b>/:
        # no COS operation is POST /, and an action named in an unsigned header is not taken from it.
        raise NotFoundError("no route for POST /: an MPS call is POST / with X-TC-Action", code="NoSuchRoute")
    if name not in ACTIONS:
        raise InvalidInputError(f"X-TC-Action: {name!r} is not an action of this service ({', '.join(ACTIONS)})",
                                code="InvalidAction")
    result = ACTIONS[name](read_body(body_bytes(router.current_event)))
    payload = {"Response": {**result, "RequestId": router.context["request_id"]}}
    return Response(status_code=200, content_type="application/json", body=json.dumps(payload, ensure_ascii=False))
