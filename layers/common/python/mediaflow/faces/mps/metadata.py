"""DescribeMediaMetaData: the probe of an object of a served bucket, in MPS's MediaMetaData shape,
answered at once (`pipeline.probe_object` runs ffmpeg where it is)."""

from __future__ import annotations

from typing import Any, Literal

from ...pipeline.probe_object import probe_object
from ...shapes.mps_media import media_metadata
from ..keys import ApiKey
from .inputs import stored_object
from .wire import MediaInputInfo, Wire, parse


class DescribeMediaMetaDataRequest(Wire):
    InputInfo: MediaInputInfo
    Mode: Literal["slow"] | None = None  # MPS: a longer timeout; ours is API Gateway's either way


def describe(body: dict[str, Any], key: ApiKey | None) -> dict[str, Any]:
    request = parse(DescribeMediaMetaDataRequest, body)
    bucket, object_key, _ = stored_object(request.InputInfo, key, "read",
                                          "(a URL is read by ProcessMedia, which imports it)")
    return {"MetaData": media_metadata(probe_object(bucket, object_key))}
