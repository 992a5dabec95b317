"""HTTP sessions that connect only to the addresses the SSRF check approved.

`check_callback_url` resolves a URL's host and judges every address. If the HTTP client then looked
the name up again to connect, a name that answers with a public address the first time and a private
one the second (DNS rebinding) would pass the check and reach the private one. A `checked_session`
connects to the checked addresses instead, in order, while the request keeps the name: the Host
header, TLS SNI and the certificate check are for the name, as they would be without pinning.
Proxies are not used: the connection goes where the check said it may.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3 import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError
from urllib3.util import connection

from .urls import check_callback_url


def checked_session(url: str, *, allow_loopback: bool) -> requests.Session:
    """A session for requests to `url`'s host, whose connections go to the addresses
    `check_callback_url` approved (which raises, as it does, when the URL is refused)."""
    addresses = check_callback_url(url, allow_loopback=allow_loopback)
    session = requests.Session()
    adapter = PinnedAdapter(addresses)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


class _Pinned:
    """A urllib3 connection whose socket goes to `addresses` (the first that answers), never to
    what a new lookup of its host would say; everything else (Host, SNI, certificate) is unchanged."""

    addresses: tuple[str, ...] = ()
    host: str
    port: int
    timeout: Any
    source_address: Any
    socket_options: Any

    def _new_conn(self) -> Any:
        error: Exception = NewConnectionError(self, f"no checked address to connect to for {self.host}")
        for address in self.addresses:
            try:
                sock = connection.create_connection((address, self.port), self.timeout,
                                                    source_address=self.source_address,
                                                    socket_options=self.socket_options)
            except TimeoutError:  # socket.timeout; checked first, as it is an OSError too
                error = ConnectTimeoutError(self, f"Connection to {self.host} ({address}) timed out. "
                                                  f"(connect timeout={self.timeout})")
            except OSError as exc:
                error = NewConnectionError(self, f"Failed to establish a new connection to {self.host} "
                                                 f"({address}): {exc}")
            else:
                sys.audit("http.client.connect", self, self.host, self.port)  # as urllib3 does
                return sock
        raise error


class PinnedAdapter(HTTPAdapter):
    """A transport adapter whose connections go to `addresses` whatever the URL's host resolves to."""

    def __init__(self, addresses: tuple[str, ...]):
        self.addresses = addresses  # before HTTPAdapter.__init__, which makes the pool manager
        super().__init__(max_retries=0)

    def init_poolmanager(self, connections: int, maxsize: int, block: bool = False, **pool_kwargs: Any) -> None:
        super().init_poolmanager(connections, maxsize, block, **pool_kwargs)
        pinned = {"addresses": self.addresses}
        http = type("PinnedHTTPConnection", (_Pinned, HTTPConnection), pinned)
        https = type("PinnedHTTPSConnection", (_Pinned, HTTPSConnection), pinned)
        self.poolmanager.pool_classes_by_scheme = {
            "http": type("PinnedHTTPConnectionPool", (HTTPConnectionPool,), {"ConnectionCls": http}),
            "https": type("PinnedHTTPSConnectionPool", (HTTPSConnectionPool,), {"ConnectionCls": https}),
        }

    def send(self, request: requests.PreparedRequest, stream: bool = False, timeout: Any = None,
             verify: bool | str = True, cert: Any = None, proxies: Mapping[str, str] | None = None) -> requests.Response:
        return super().send(request, stream=stream, timeout=timeout, verify=verify, cert=cert, proxies=None)
