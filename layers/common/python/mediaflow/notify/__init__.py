"""Telling owners about job results: signed HTTP callbacks to URLs checked against SSRF."""

from mediaflow.notify.http import USER_AGENT, post_callback
from mediaflow.notify.signing import mps_sign, new_secret, sign, signature_headers, verify
from mediaflow.notify.urls import check_callback_url

__all__ = [
    "USER_AGENT",
    "check_callback_url",
    "mps_sign",
    "new_secret",
    "post_callback",
    "sign",
    "signature_headers",
    "verify",
]
