"""DescribeMediaMetaData through the API function in-process (no stack function: this process probes
the object itself, with the layer's ffmpeg): the probe in MPS's MediaMetaData shape, and clear refusals."""

from __future__ import annotations

import json

import boto3
import pytest
from support import make_phone_clip, serve_bucket, tc3_event

pytestmark = pytest.mark.integration
BUCKET = "mps-metadata-media"


def describe(serve, key: str, bucket: str = BUCKET, kind: str = "COS") -> dict:
    where = ({"CosInputInfo": {"Bucket": bucket, "Region": "us-east-1", "Object": f"/{key}"}} if kind == "COS" else
             {"S3InputInfo": {"S3Bucket": bucket, "S3Region": "us-east-1", "S3Object": f"/{key}"}})
    answer = serve(tc3_event("DescribeMediaMetaData", {"InputInfo": {"Type": kind, **where}}))
    assert answer["statusCode"] == 200, answer
    return json.loads(answer["body"])["Response"]


def test_a_phone_clip_is_described_as_mps_does(serve, tmp_path) -> None:
    serve_bucket(BUCKET)
    boto3.client("s3").upload_file(str(make_phone_clip(tmp_path / "phone.mp4")), BUCKET, "clips/phone.mp4")
    for kind in ("COS", "AWS-S3"):
        meta = describe(serve, "clips/phone.mp4", kind=kind)["MetaData"]
        assert (meta["Width"], meta["Height"], meta["Rotate"]) == (640, 360, 90)  # stored landscape, shown upright
        assert meta["Duration"] == pytest.approx(4, abs=0.05) and meta["VideoDuration"] == pytest.approx(4, abs=0.05)
        assert meta["Container"].startswith("mov,mp4") and meta["Size"] > 0 and meta["Bitrate"] > 0
        (video,) = meta["VideoStreamSet"]
        assert (video["Codec"], video["Fps"], video["FpsNumerator"], video["FpsDenominator"]) == ("h264", 29, 29, 1)
        assert meta["AudioStreamSet"] == [] and meta["AudioDuration"] == 0


@pytest.mark.parametrize(("key", "body", "code", "message"), [
    ("notes.txt", b"just some words, not a video at all", "InvalidMedia", "not a media file"),
    ("list.m3u8", b"#EXTM3U\n#EXTINF:1,\nhttp://169.254.169.254/latest/meta-data/\n", "InvalidMedia", "HLS playlist"),
    ("empty.mp4", b"", "InvalidMedia", "empty"),
    (None, None, "InvalidParameterValue", "does not exist"),
])
def test_what_is_no_media_file_is_refused_with_a_reason(serve, key, body, code, message) -> None:
    serve_bucket(BUCKET)
    if key is not None:
        boto3.client("s3").put_object(Bucket=BUCKET, Key=key, Body=body)
    error = describe(serve, key or "missing.mp4")["Error"]
    assert error["Code"] == code and message in error["Message"], error


def test_a_url_or_an_unserved_bucket_is_refused(serve) -> None:
    answer = json.loads(serve(tc3_event("DescribeMediaMetaData", {"InputInfo": {
        "Type": "URL", "UrlInputInfo": {"Url": "https://example.com/a.mp4"}}}))["body"])["Response"]
    assert answer["Error"]["Code"] == "InvalidParameterValue" and "ProcessMedia" in answer["Error"]["Message"]
    error = describe(serve, "a.mp4", bucket="not-a-served-bucket")["Error"]
    assert "not-a-served-bucket" in error["Message"], error
