"""The local front holds request bodies to API Gateway's 10 MB payload limit before reading them."""

from __future__ import annotations

import http.client
import io
import json
import socket
from collections.abc import Iterator

import pytest
from mediaflow.local.front import MAX_BODY, ApiFront, BodyRefused, read_body

pytestmark = pytest.mark.unit


@pytest.fixture
def front() -> Iterator[tuple[ApiFront, list[dict]]]:
    seen: list[dict] = []

    def echo(event: dict) -> dict:
        seen.append(event)
        return {"statusCode": 200, "body": event.get("body") or ""}

    server = ApiFront(echo, port=0).start()
    yield server, seen
    server.stop()


def exchange(front: ApiFront, head: str, body: bytes = b"") -> tuple[int, bytes]:
    """Send raw bytes; the status and body of the answer (it must come without the rest being sent)."""
    host, port = front.server.server_address[:2]
    with socket.create_connection((host, port), timeout=5) as connection:
        connection.sendall(head.replace("\n", "\r\n").encode() + b"\r\n" + body)
        reply = http.client.HTTPResponse(connection)
        reply.begin()
        return reply.status, reply.read()


def test_a_content_length_over_the_limit_is_refused_unread(front) -> None:
    server, seen = front
    # Only the headers are sent: a front that read the body first would wait for it and time out.
    status, body = exchange(server, f"POST /jobs HTTP/1.1\nHost: x\nContent-Length: {MAX_BODY + 1}\n")
    assert (status, json.loads(body)["message"]) == (413, "Request Entity Too Large")
    status, _ = exchange(server, f"POST /jobs HTTP/1.1\nHost: x\nContent-Length: {10 ** 23}\n")
    assert status == 413
    status, _ = exchange(server, f"POST /jobs HTTP/1.1\nHost: x\nContent-Length: {MAX_BODY + 1}\nExpect: 100-continue\n")
    assert status == 413
    assert seen == []


@pytest.mark.parametrize("length", ["abc", "-1", "1e3", "5, 5"])
def test_a_malformed_content_length_is_a_400(front, length) -> None:
    server, seen = front
    status, _ = exchange(server, f"POST /jobs HTTP/1.1\nHost: x\nContent-Length: {length}\n")
    assert status == 400 and seen == []


def test_a_chunked_body_is_read_up_to_the_limit_only(front) -> None:
    server, seen = front
    chunk = b"x" * (1024 * 1024)
    framed = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(10)) + b"1\r\nx\r\n0\r\n\r\n"  # MAX_BODY + 1
    status, _ = exchange(server, "POST /jobs HTTP/1.1\nHost: x\nTransfer-Encoding: chunked\nContent-Type: text/plain\n", framed)
    assert status == 413 and seen == []
    status, body = exchange(server, "POST /jobs HTTP/1.1\nHost: x\nTransfer-Encoding: chunked\nContent-Type: text/plain\n",
                            b"3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\n\r\n")
    assert (status, body) == (200, b"abcde") and seen[0]["body"] == "abcde"


def headers(text: str) -> http.client.HTTPMessage:
    return http.client.parse_headers(io.BytesIO(text.replace("\n", "\r\n").encode() + b"\r\n"))


def test_read_body_stops_at_the_limit() -> None:
    assert read_body(headers("Content-Length: 4\n"), io.BytesIO(b"abcdef"), limit=4) == b"abcd"
    assert read_body(headers(""), io.BytesIO(b"abc"), limit=4) == b""
    with pytest.raises(BodyRefused) as refused:
        read_body(headers("Content-Length: 5\n"), io.BytesIO(b"abcde"), limit=4)
    assert refused.value.status == 413
    stream = io.BytesIO(b"4\r\nabcd\r\n1\r\ne\r\n0\r\n\r\n")
    with pytest.raises(BodyRefused) as refused:
        read_body(headers("Transfer-Encoding: chunked\n"), stream, limit=4)
    assert refused.value.status == 413 and stream.tell() == len(b"4\r\nabcd\r\n1\r\n")  # "e" never read
    for framed in (b"zz\r\nab\r\n0\r\n\r\n", b"2\r\nabc\r\n0\r\n\r\n", b"2\r\na"):
        with pytest.raises(BodyRefused) as refused:
            read_body(headers("Transfer-Encoding: chunked\n"), io.BytesIO(framed), limit=100)
        assert refused.value.status == 400
