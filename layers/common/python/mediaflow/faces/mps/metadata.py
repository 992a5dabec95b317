"""DescribeMediaMetaData: the probe of an object of a served bucket, in MPS's MediaMetaData shape,
answered at once (`pipeline.probe_object` runs ffmpeg where it is)."""

from __future__ import annotations

from typing import Any, Literal

from ...control import buckets
from ...exceptions import InvalidInputError
from ...persistence.storage import object_exists
from ...pipeline.probe_object import probe_object
from ...shapes.mps_media import media_metadata
from ..keys import UNAUTHORISED, ApiKey, require
from .plan import source_of
from .wire import MediaInputInfo, Wire, parse


class DescribeMediaMetaDataRequest(Wire):
    InputInfo: MediaInputInfo
    Mode: Literal["slow"] | None = None  # MPS: a longer timeout; ours is API Gateway's either way


def describe(body: dict[str, Any], key: ApiKey | None) -> dict[str, Any]:
    request = parse(DescribeMediaMetaDataRequest, body)
    kind, bucket, object_key, _, _ = source_of(request.InputInfo)
    if kind == "URL" or bucket is None or object_key is None:
        raise InvalidInputError("InputInfo: a COS or AWS-S3 object of a bucket the stack serves is required "
                                "(a URL is read by ProcessMedia, which imports it)", code="InvalidParameterValue")
    if key is not None:
        require(key, "read", bucket, code=UNAUTHORISED)
    buckets.require_served(bucket, "InputInfo")
    if not object_exists(bucket, object_key):
        raise InvalidInputError(f"InputInfo: object {object_key} does not exist in bucket {bucket}",
                                code="InvalidParameterValue")
    return {"MetaData": media_metadata(probe_object(bucket, object_key))}
