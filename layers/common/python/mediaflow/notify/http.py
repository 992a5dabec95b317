"""One callback delivery attempt over HTTP. Retries and scheduling belong to the caller."""

from __future__ import annotations

from collections.abc import Mapping

import requests
from requests.structures import CaseInsensitiveDict

from mediaflow.exceptions import DeliveryError
from mediaflow.notify.pinning import checked_session

USER_AGENT = "mediaflow-notifier/1"


def post_callback(
    url: str,
    body: bytes,
    *,
    content_type: str,
    headers: Mapping[str, str],
    allow_loopback: bool,
    connect_timeout: float = 3.0,
    read_timeout: float = 10.0,
) -> int:
    """POST ``body`` to ``url`` once; return the 2xx status, or raise ``DeliveryError``.

    ``UnsafeUrlError`` from the URL check propagates untouched: the caller treats it as
    permanent. The connection goes to the addresses the check approved, not to a second lookup
    of the name (DNS rebinding). Redirects are never followed (a 3xx is a failure), so a public
    URL cannot bounce the request to an address the check would have refused.
    """
    request_headers = CaseInsensitiveDict(headers)
    request_headers["Content-Type"] = content_type
    request_headers["User-Agent"] = USER_AGENT
    with checked_session(url, allow_loopback=allow_loopback) as session:
        try:
            # stream=True: only the status matters, so the receiver's body is never downloaded.
            response = session.post(
                url,
                data=body,
                headers=request_headers,
                allow_redirects=False,
                timeout=(connect_timeout, read_timeout),
                stream=True,
            )
        except requests.Timeout as exc:  # checked first: ConnectTimeout is also a ConnectionError
            raise DeliveryError(f"callback timed out ({type(exc).__name__})") from exc
        except requests.ConnectionError as exc:
            raise DeliveryError(f"callback connection failed ({type(exc).__name__})") from exc
        except requests.RequestException as exc:
            raise DeliveryError(f"callback request failed ({type(exc).__name__})") from exc
        with response:
            status = response.status_code
    if 200 <= status < 300:
        return status
    if 300 <= status < 400:
        raise DeliveryError(f"callback answered HTTP {status} (redirects are not followed)")
    raise DeliveryError(f"callback answered HTTP {status}")
