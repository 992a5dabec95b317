"""The COS CI XML face's wire format: <Request> bodies in, <Response> and <Error> documents out."""

from __future__ import annotations

from typing import Any

import xmltodict
from aws_lambda_powertools.event_handler import Response

from ..exceptions import InvalidInputError, MediaflowError
from ..shapes.cos import document, render

XML = "application/xml"
# A <Request> is refused above this size, before it is parsed: the largest workflow is far smaller,
# and a record made of one stays well within a table item (400 KB) however its text is escaped.
MAX_BODY_BYTES = 128 * 1024
# HTTP status of each error Code (the reference lists 400 for the request errors).
STATUS = {"AccessDenied": 403, "ResourceNotFound": 404, "MethodNotAllowed": 405, "InternalError": 500}


def request_body(body: str | bytes | None, *, required: bool = True) -> dict[str, Any]:
    """The children of the <Request> root; a body that is missing or not XML is refused."""
    if not body:
        if required:
            raise InvalidInputError("the request has no body; a <Request> document is required", code="MissingContent")
        return {}
    size = len(body.encode() if isinstance(body, str) else body)
    if size > MAX_BODY_BYTES:
        raise InvalidInputError(f"the request body is {size} bytes; at most {MAX_BODY_BYTES} are accepted",
                                code="InvalidContent")
    try:
        parsed = xmltodict.parse(body)
    except Exception as error:  # expat reports every syntax error as its own type
        raise InvalidInputError(f"the request body is not XML: {error}", code="InvalidContent") from error
    request = parsed.get("Request") if isinstance(parsed, dict) else None
    if not isinstance(request, dict):
        raise InvalidInputError("the request body's root element must be <Request> with children", code="InvalidContent")
    return request


def headers(request_id: str) -> dict[str, str]:
    return {"Content-Type": XML, "x-ci-request-id": request_id, "Server": "tencent-ci"}


def respond(payload: dict[str, Any], request_id: str, status: int = 200) -> Response:
    """A <Response> document; RequestId comes first, as in Tencent's answers."""
    return Response(status_code=status, headers=headers(request_id),
                    body=render({"RequestId": request_id, **payload}))


def empty(request_id: str, status: int = 200) -> Response:
    return Response(status_code=status, headers={**headers(request_id), "Content-Length": "0"}, body="")


def error(err: MediaflowError, request_id: str, resource: str = "/") -> Response:
    """COS's <Error>. Every element is filled: Tencent's SDK reads Code only when Resource is there too."""
    status = STATUS.get(err.code, 400 if isinstance(err, InvalidInputError) else 500)
    body = document("Error", {"Code": err.code, "Message": err.message, "Resource": resource or "/",
                              "RequestId": request_id, "TraceId": request_id})
    return Response(status_code=status, headers=headers(request_id), body=body)
