"""An InputInfo that must name an object already stored in a bucket the stack serves (a schedule's run,
DescribeMediaMetaData), checked in the order a caller can act on: what it is, whether the key may use
that bucket, whether the stack serves it, whether the object is there."""

from __future__ import annotations

from ...control import buckets
from ...exceptions import InvalidInputError
from ...persistence.storage import object_exists
from ..keys import UNAUTHORISED, Action, ApiKey, require
from .plan import source_of
from .wire import MediaInputInfo


def stored_object(info: MediaInputInfo, api_key: ApiKey | None, action: Action, why: str) -> tuple[str, str, str | None]:
    """(bucket, key, region) of the object; InvalidInputError naming InputInfo (`why`: why a URL will not do)."""
    kind, bucket, key, region, _ = source_of(info)
    if kind == "URL" or bucket is None or key is None:
        raise InvalidInputError(f"InputInfo: a COS or AWS-S3 object is required {why}", code="InvalidParameterValue")
    if api_key is not None:
        require(api_key, action, bucket, code=UNAUTHORISED)
    buckets.require_served(bucket, "InputInfo")
    if not object_exists(bucket, key):
        raise InvalidInputError(f"InputInfo: object {key} does not exist in bucket {bucket}",
                                code="InvalidParameterValue")
    return bucket, key, region
