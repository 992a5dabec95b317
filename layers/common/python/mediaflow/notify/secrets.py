"""Each bucket's notification signing key, kept in the table and made on first use."""

from __future__ import annotations

from ..models import Model
from ..persistence import store
from .signing import new_secret


class BucketConfig(Model):
    """Per-bucket settings: the key that signs its notifications (Standard Webhooks)."""

    BucketId: str
    SigningSecret: str


def bucket_secret(bucket: str) -> str:
    """The bucket's signing secret, created on first use (first writer wins)."""
    key = (f"BUCKET#{bucket}", "CONFIG")
    found = store.get(*key, BucketConfig)
    if found is None:
        store.put_new(*key, BucketConfig(BucketId=bucket, SigningSecret=new_secret()))
        found = store.must_get(*key, BucketConfig)
    return found[0].SigningSecret
