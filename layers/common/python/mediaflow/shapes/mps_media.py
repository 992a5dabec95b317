"""MPS's description of a media file (`MediaMetaData`: DescribeMediaMetaData's answer, and the streams a
transcode's output reports) from a probe (`media.probe.MediaInfo`, as a dict: its values are strings,
bitrates in kb/s; MPS's are numbers, bitrates in b/s)."""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from typing import Any


def integer(value: Any) -> int:
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return 0


def number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def bps(kbps: Any) -> int:
    return round(number(kbps) * 1000)


def parts(info: Mapping[str, Any] | None) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    """(Format, video streams, audio streams) of a probe."""
    info = info or {}
    stream = info.get("Stream") or {}
    return info.get("Format") or {}, stream.get("Video") or [], stream.get("Audio") or []


def stream_sets(videos: list[dict[str, Any]], audios: list[dict[str, Any]]) -> dict[str, Any]:
    return {"VideoStreamSet": [{"Bitrate": bps(v.get("Bitrate")), "Height": integer(v.get("Height")),
                                "Width": integer(v.get("Width")), "Codec": v.get("CodecName", ""),
                                "Fps": round(number(v.get("Fps")))} for v in videos],
            "AudioStreamSet": [{"Bitrate": bps(a.get("Bitrate")), "SamplingRate": integer(a.get("SampleRate")),
                                "Codec": a.get("CodecName", ""), "Channel": integer(a.get("Channel"))} for a in audios]}


def _rate(video: dict[str, Any]) -> Fraction:
    try:
        return Fraction(video.get("AvgFps") or video.get("Fps") or 0).limit_denominator(1001)
    except (ValueError, ZeroDivisionError):
        return Fraction(0)


def media_metadata(info: Mapping[str, Any]) -> dict[str, Any]:
    """DescribeMediaMetaData's MetaData. Height and Width are the largest stored picture's; Rotate is the
    clockwise turn a player applies, as a phone's `rotate` tag says (a portrait clip: 1920x1080 with Rotate
    90), where ffmpeg's display matrix, and so the probe's Rotation, counts counter-clockwise."""
    fmt, videos, audios = parts(info)
    video, audio = (videos or [{}])[0], (audios or [{}])[0]
    height, width = (max((integer(v.get(side)) for v in videos), default=0) for side in ("Height", "Width"))
    sets = stream_sets(videos, audios)
    for item, stream in zip(sets["VideoStreamSet"], videos):
        rate = _rate(stream)
        item |= {"FpsNumerator": rate.numerator, "FpsDenominator": rate.denominator, "Codecs": "",
                 "ColorPrimaries": "", "ColorSpace": "", "ColorTransfer": "", "HdrType": ""}
    return {"Size": integer(fmt.get("Size")), "Container": fmt.get("FormatName", ""), "Bitrate": bps(fmt.get("Bitrate")),
            "Height": height, "Width": width,
            "Duration": number(fmt.get("Duration")), "Rotate": round(-number(video.get("Rotation"))) % 360, **sets,
            "VideoDuration": number(video.get("Duration")) if videos else 0.0,
            "AudioDuration": number(audio.get("Duration")) if audios else 0.0}
