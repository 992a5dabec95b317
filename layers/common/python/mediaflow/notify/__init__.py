"""Telling owners about results: events kept in each bucket's inbox (inbox), queued for delivery (outbox),
delivered as signed HTTP callbacks to URLs checked against SSRF and connected to as checked, SQS or SNS
messages (deliver, http, urls, pinning, targets), signed with each bucket's key (signing, secrets). May
import shapes, persistence, models and the basics; never control, the pipeline or a face."""

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
