"""The local stand-in for API Gateway (HTTP API): HTTP requests -> payload v2.0 events -> ApiFunction.

Each request becomes the event API Gateway would hand the function and is sent through the emulator's
Lambda Invoke, so the deployed ApiFunction answers it in its own worker process (the local runtime's
`_invoke_lambda`); nothing here knows any route. The Host header is passed on as it came, since the
bucket may be named in it and clients sign it.

Bodies are held to API Gateway's payload limit (`MAX_BODY`, 10 MB) before anything reads them: a
Content-Length over it gets 413 unread, a malformed one 400, and a chunked body is read only up to
the limit (413 past it); the connection is closed after such an answer, as the rest is never read.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

logger = logging.getLogger("mediaflow.local")

DEFAULT_PORT = 4567
TEXT_TYPES = ("text/", "application/json", "application/xml", "application/x-www-form-urlencoded")
# Hop-by-hop headers are the front's business, not the function's (http.server frames the body itself).
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length"}

Invoke = Callable[[dict[str, Any]], dict[str, Any]]
MAX_BODY = 10 * 1024 * 1024  # API Gateway HTTP API's payload limit (10 MB)
MAX_CHUNK_LINE = 1024  # bytes of a chunk-size line (hex size and extensions)


class BodyRefused(Exception):
    """A request body that is not read: too large (413) or framed wrongly (400)."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def read_body(headers: Any, rfile: Any, *, limit: int = MAX_BODY) -> bytes:
    """The request body, never more than `limit` bytes of it read (Content-Length or chunked)."""
    if "chunked" in (headers.get("Transfer-Encoding") or "").lower():
        return _read_chunked(rfile, limit)
    length = (headers.get("Content-Length") or "0").strip()
    if not (length.isascii() and length.isdigit()) or len(headers.get_all("Content-Length") or []) > 1:
        raise BodyRefused(400, "Content-Length is not one plain number")
    if len(length) > 12 or int(length) > limit:
        raise BodyRefused(413, "Request Entity Too Large")
    return rfile.read(int(length))


def _read_chunked(rfile: Any, limit: int) -> bytes:
    body = bytearray()
    while True:
        line = rfile.readline(MAX_CHUNK_LINE + 1)
        size = line.split(b";", 1)[0].strip()
        if len(line) > MAX_CHUNK_LINE or not line.endswith(b"\n") or not size or len(size) > 12:
            raise BodyRefused(400, "malformed chunked body")
        try:
            count = int(size, 16)
        except ValueError:
            raise BodyRefused(400, "malformed chunked body") from None
        if count == 0:
            while rfile.readline(MAX_CHUNK_LINE + 1) not in (b"\r\n", b"\n", b""):
                pass  # trailers: not passed on
            return bytes(body)
        if len(body) + count > limit:
            raise BodyRefused(413, "Request Entity Too Large")
        chunk = rfile.read(count)
        if len(chunk) != count or rfile.readline(MAX_CHUNK_LINE + 1).strip():
            raise BodyRefused(400, "malformed chunked body")
        body += chunk


def http_api_event(method: str, target: str, headers: list[tuple[str, str]], body: bytes, *,
                   source_ip: str, protocol: str = "HTTP/1.1") -> dict[str, Any]:
    """An API Gateway HTTP API (payload format 2.0) event for one request."""
    url = urlsplit(target)
    joined: dict[str, str] = {}
    for name, value in headers:
        name = name.lower()
        joined[name] = f"{joined[name]},{value}" if name in joined else value
    cookies = [c.strip() for c in joined.pop("cookie", "").split(";") if c.strip()]
    query: dict[str, str] = {}
    for name, value in parse_qsl(url.query, keep_blank_values=True):
        query[name] = f"{query[name]},{value}" if name in query else value
    host = joined.get("host", "")
    now = time.time()
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": url.path or "/",
        "rawQueryString": url.query,
        "headers": joined,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": host,
            "domainPrefix": host.split(".", 1)[0],
            "http": {"method": method, "path": url.path or "/", "protocol": protocol, "sourceIp": source_ip,
                     "userAgent": joined.get("user-agent", "")},
            "requestId": str(uuid.uuid4()),
            "routeKey": "$default",
            "stage": "$default",
            "time": formatdate(now, usegmt=True),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": False,
    }
    if query:
        event["queryStringParameters"] = query
    if cookies:
        event["cookies"] = cookies
    if body:
        if _is_text(joined.get("content-type", ""), body):
            event["body"] = body.decode()
        else:
            event["body"], event["isBase64Encoded"] = base64.b64encode(body).decode(), True
    return event


def _is_text(content_type: str, body: bytes) -> bool:
    if not content_type.lower().startswith(TEXT_TYPES):
        return False
    try:
        body.decode()
        return True
    except UnicodeDecodeError:
        return False


def http_response(result: Any) -> tuple[int, list[tuple[str, str]], bytes]:
    """The function's result as status, headers and body (as API Gateway reads payload v2.0 results)."""
    if not isinstance(result, dict) or "statusCode" not in result:
        # A result without statusCode is JSON for a 200, as API Gateway treats it.
        return 200, [("Content-Type", "application/json")], json.dumps(result).encode()
    headers = [(name, str(value)) for name, value in (result.get("headers") or {}).items()]
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers += [(name, str(value)) for value in values]
    headers += [("Set-Cookie", cookie) for cookie in result.get("cookies") or []]
    body = result.get("body") or ""
    data = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode()
    return int(result["statusCode"]), headers, data


def lambda_invoker(lambda_client: Any, function_name: str) -> Invoke:
    """Invoke `function_name` through the emulator's Lambda API; a function error becomes FunctionError."""

    def invoke(event: dict[str, Any]) -> dict[str, Any]:
        reply = lambda_client.invoke(FunctionName=function_name, Payload=json.dumps(event).encode())
        payload = json.loads(reply["Payload"].read() or b"null")
        if reply.get("FunctionError"):
            raise FunctionError(payload)
        return payload

    return invoke


class FunctionError(Exception):
    def __init__(self, payload: Any):
        error = payload if isinstance(payload, dict) else {}
        super().__init__(f"{error.get('errorType', 'Error')}: {error.get('errorMessage', payload)}")


class ApiFront:
    """A threaded HTTP server on loopback that answers every request through `invoke`."""

    def __init__(self, invoke: Invoke, *, host: str = "127.0.0.1", port: int = DEFAULT_PORT):
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _refuse(self, refused: BodyRefused) -> None:
                data = json.dumps({"message": refused.message}).encode()
                self.close_connection = True  # the rest of the body is never read
                self.send_response(refused.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(data)

            def handle_expect_100(self) -> bool:
                length = (self.headers.get("Content-Length") or "0").strip()
                if length.isascii() and length.isdigit() and (len(length) > 12 or int(length) > MAX_BODY):
                    self._refuse(BodyRefused(413, "Request Entity Too Large"))  # before the client sends it
                    return False
                return super().handle_expect_100()

            def _proxy(self) -> None:
                try:
                    body = read_body(self.headers, self.rfile)
                except BodyRefused as refused:
                    self._refuse(refused)
                    return
                event = http_api_event(self.command, self.path, list(self.headers.items()), body,
                                       source_ip=self.client_address[0], protocol=self.request_version)
                try:
                    status, headers, data = http_response(invoke(event))
                except Exception as error:  # the function failed or timed out: API Gateway's 502
                    logger.warning("%s %s: the API function failed: %s", self.command, self.path, error)
                    status, headers = 502, [("Content-Type", "application/json")]
                    data = json.dumps({"message": "Internal Server Error", "error": str(error)[:500]}).encode()
                self.send_response(status)
                for name, value in headers:
                    if name.lower() not in HOP_BY_HOP:
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = _proxy  # noqa: N815

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        host_, port_ = self.server.server_address[:2]
        self.url = f"http://{host_}:{port_}"

    def start(self) -> ApiFront:
        threading.Thread(target=self.server.serve_forever, daemon=True, name="api-front").start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
