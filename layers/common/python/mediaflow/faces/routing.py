"""What every COS CI route needs: the request's bucket and id, its query and body, and answers."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from ..exceptions import InvalidInputError
from ..times import ci_time, parse_ci_time
from . import xmlio

# An S3 bucket name, as both faces accept it in a path or a body.
BUCKET_PATTERN = r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"


def parse_query(raw: str) -> dict[str, str]:
    """The query string, parsed once for the signature check and the routes alike (`Route.query` reads
    this very dict): names as sent, values decoded, blank values kept (``?cancel`` -> ``{"cancel": ""}``).

    A name given twice is refused, and so is a name given twice in different case: the COS signature
    lowercases names, so ``ids=a&IDS=b`` is one signed name with two values. (API Gateway's
    `queryStringParameters` joins repeated values with commas, which is why routes never read it.)
    """
    query: dict[str, str] = {}
    seen: set[str] = set()
    for name, value in parse_qsl(raw, keep_blank_values=True):
        if name.lower() in seen:
            raise InvalidInputError(f"query parameter {name[:64]!r} is given more than once")
        seen.add(name.lower())
        query[name] = value
    return query


class Route:
    """A view of the current request for one router's handlers."""

    def __init__(self, router: Router):
        self.router = router

    @property
    def bucket(self) -> str:
        return self.router.context["bucket"]

    @property
    def request_id(self) -> str:
        return self.router.context["request_id"]

    def params(self) -> dict[str, str]:
        """The query as the signature check read it (`parse_query`), by lowercased name: COS signs names
        lowercased, so ``IDS=`` is the ``ids`` the client signed and filters as ``ids`` does."""
        query = self.router.context.get("query")
        if query is None:  # resolved without the API's handler (no signature was checked either)
            query = parse_query(self.router.current_event.raw_query_string or "")
        return {name.lower(): value for name, value in query.items()}

    def query(self, name: str, default: str | None = None) -> str | None:
        return self.params().get(name.lower(), default)

    def path_root(self) -> str:
        """The first part of the request's path: `asr_jobs` for /asr_jobs/<id>."""
        return self.router.current_event.path.strip("/").split("/", 1)[0]

    def flag(self, name: str) -> bool:
        """A bare query flag such as ?cancel or ?active."""
        return name.lower() in self.params()

    def body(self, *, required: bool = True) -> dict[str, Any]:
        return xmlio.request_body(body_bytes(self.router.current_event), required=required)

    def ok(self, payload: dict[str, Any]) -> Response[str]:
        return xmlio.respond(payload, self.request_id)

    def empty(self) -> Response[str]:
        return xmlio.empty(self.request_id)

    def integer(self, name: str, default: int, low: int, high: int) -> int:
        text = self.query(name)
        if text in (None, ""):
            return default
        try:
            value = int(text)
        except ValueError as error:
            raise InvalidInputError(f"{name}: {text!r} is not a number") from error
        if not low <= value <= high:
            raise InvalidInputError(f"{name}: {value} is outside [{low}, {high}]")
        return value

    def time(self, name: str) -> datetime | None:
        text = self.query(name)
        if not text:
            return None
        try:
            return parse_ci_time(text)
        except ValueError as error:
            raise InvalidInputError(f"{name}: {text!r} is not a time like 2022-06-27T15:23:12+0800") from error

    def ids(self, name: str) -> list[str]:
        return [part.strip() for part in (self.query(name) or "").split(",") if part.strip()]


def body_bytes(event: Any) -> bytes:
    """The request body as sent: bytes, whatever they are (decoding is the parser's business)."""
    if not event.body:
        return b""
    return base64.b64decode(event.body) if event.is_base64_encoded else event.body.encode()


def page(items: list[Any], number: int, size: int) -> list[Any]:
    return items[(number - 1) * size : number * size]


def times(record: dict[str, Any]) -> dict[str, Any]:
    """Datetimes rendered the CI way, everything else as it is."""
    return {k: ci_time(v) if isinstance(v, datetime) else v for k, v in record.items()}
