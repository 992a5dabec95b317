"""One delivery attempt against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest

from mediaflow.exceptions import DeliveryError, UnsafeUrlError
from mediaflow.notify import USER_AGENT, new_secret, post_callback, signature_headers, verify

pytestmark = pytest.mark.integration

BODY = b'{"JobId":"j-42","State":"Success"}'
SLOW_SECONDS = 3.0


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    base_url: str
    requests: list[Received] = field(default_factory=list)

    def paths(self) -> list[str]:
        return [r.path for r in self.requests]


def _handler(receiver: Receiver, release: threading.Event) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            headers = {name.lower(): value for name, value in self.headers.items()}
            receiver.requests.append(Received(self.path, headers, body))
            if self.path == "/slow":
                release.wait(SLOW_SECONDS)  # released at teardown so shutdown is not held up
            if self.path == "/redirect":
                self.send_response(302)
                self.send_header("Location", "/target")
            else:
                self.send_response(500 if self.path == "/fail" else 200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
            pass

    return Handler


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    release = threading.Event()
    state = Receiver(base_url="")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state, release))
    server.daemon_threads = True
    state.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        release.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def post(url: str, *, headers: dict[str, str] | None = None, allow_loopback: bool = True, **timeouts) -> int:
    return post_callback(
        url,
        BODY,
        content_type="application/json",
        headers=headers or {},
        allow_loopback=allow_loopback,
        **timeouts,
    )


def test_2xx_is_delivered_with_exact_body_and_verifiable_signature(receiver):
    secret = new_secret()
    now = int(time.time())
    headers = signature_headers(secret, "msg_1", now, BODY)

    assert post(f"{receiver.base_url}/ok", headers=headers) == 200

    [got] = receiver.requests
    assert got.path == "/ok"
    assert got.body == BODY
    assert got.headers["content-type"] == "application/json"
    assert got.headers["user-agent"] == USER_AGENT
    for name, value in headers.items():
        assert got.headers[name] == value
    verify(secret, got.headers, got.body)  # what arrived is authentic for a receiver


def test_5xx_is_a_delivery_error(receiver):
    with pytest.raises(DeliveryError, match="500"):
        post(f"{receiver.base_url}/fail")
    assert receiver.paths() == ["/fail"]


def test_a_receiver_on_a_port_of_the_local_stack_itself_is_refused(receiver, monkeypatch):
    """Locally loopback callbacks are allowed, but not to the emulator (its admin API wipes the stack) or the API."""
    monkeypatch.setenv("LOCAL_RESERVED_PORTS", f"4566,{urlsplit(receiver.base_url).port}")
    with pytest.raises(UnsafeUrlError, match="local stack's own"):
        post(f"{receiver.base_url}/moto-api/reset")
    assert receiver.requests == []


def test_redirect_is_not_followed(receiver):
    with pytest.raises(DeliveryError, match="302"):
        post(f"{receiver.base_url}/redirect")
    assert receiver.paths() == ["/redirect"]  # /target was never requested


def test_slow_receiver_times_out_quickly(receiver):
    started = time.monotonic()
    with pytest.raises(DeliveryError, match="timed out"):
        post(f"{receiver.base_url}/slow", read_timeout=0.5)
    assert time.monotonic() - started < SLOW_SECONDS - 1


def test_closed_port_is_a_delivery_error():
    with socket.socket() as probe:  # bind to learn a free port, then close it so nothing listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(DeliveryError, match="connection"):
        post(f"http://127.0.0.1:{port}/ok", connect_timeout=1.0)


def test_loopback_refused_without_allow_loopback_and_nothing_is_sent(receiver):
    with pytest.raises(UnsafeUrlError, match="loopback"):
        post(f"{receiver.base_url}/ok", allow_loopback=False)
    assert receiver.requests == []
