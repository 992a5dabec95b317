"""The MPS template kinds: their fields as the SDK sends them (`tencentcloud.mps.v20190612.models`)
and the parameters of ours that each makes (`Kind.params`), for `templates`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal, NamedTuple, Optional

from pydantic import Field, create_model

from ...exceptions import InvalidInputError
from .wire import Wire, parse

LAST_CUSTOM = 9_999_999
PENDING = "s3://pending/image"  # a watermark image's Url until the image is stored
MAX_IMAGE_BASE64 = 2 * 1024 * 1024 * 4 // 3 + 4  # MPS takes watermark images up to 2 MB
Size = Field(default=0, ge=0, le=4096)  # 0: the source's (the other side keeps the aspect ratio)


# ------------------------------------------------------------------ the requests (SDK field names)
class VideoTemplateInfo(Wire):
    Codec: Literal["libx264", "libx265", "av1"] = "libx264"
    Fps: float = Field(default=0, ge=0, le=60)  # 0: the source's
    Bitrate: int = Field(default=0, ge=0, le=50000)  # kbps; 0: chosen from the size
    Width: int = Size
    Height: int = Size
    Gop: int = Field(default=0, ge=0, le=100000)
    Vcrf: int = Field(default=0, ge=0, le=51)


class AudioTemplateInfo(Wire):
    Codec: Literal["libfdk_aac", "aac", "libmp3lame", "mp3"] = "libfdk_aac"
    Bitrate: int = Field(default=0, ge=0, le=1000)
    SampleRate: int = Field(default=44100, ge=8000, le=96000)
    AudioChannel: Literal[1, 2, 6] = 2


class Named(Wire):
    Name: str = Field(default="", max_length=64)
    Comment: str = Field(default="", max_length=256)


class TranscodeFields(Named):
    Container: Literal["mp4", "flv", "hls", "mp3", "m4a", "mov", "mkv", "webm"]
    RemoveVideo: Literal[0, 1] = 0
    RemoveAudio: Literal[0, 1] = 0
    VideoTemplate: VideoTemplateInfo | None = None
    AudioTemplate: AudioTemplateInfo | None = None


class SnapshotFields(Named):
    Width: int = Size
    Height: int = Size
    Format: Literal["jpg", "png"] = "jpg"


class SampleSnapshotFields(SnapshotFields):
    SampleType: Literal["Percent", "Time"]
    SampleInterval: int = Field(ge=1, le=3600)


class ImageSpriteFields(SampleSnapshotFields):
    RowCount: int = Field(ge=1, le=100)
    ColumnCount: int = Field(ge=1, le=100)


class AnimatedGraphicsFields(Named):
    Fps: int = Field(ge=1, le=30)
    Width: int = Size
    Height: int = Size
    Format: Literal["gif", "webp"] = "gif"
    Quality: float = Field(default=75, ge=1, le=100)


Length = Annotated[str, Field(pattern=r"^\d+(\.\d+)?(%|px)$", max_length=16)]  # "10%" or "20px"


class ImageWatermarkInput(Wire):
    ImageContent: str | None = Field(default=None, min_length=8, max_length=MAX_IMAGE_BASE64)  # base64 PNG/JPEG
    Width: Length = "10%"  # of the video's width, or pixels
    Height: Length = "0px"  # 0: keeps the image's aspect ratio


class TextWatermarkInput(Wire):
    FontType: Literal["arial.ttf", "simkai.ttf"] = "arial.ttf"
    FontSize: str = Field(default="16px", pattern=r"^\d{1,3}px$")
    FontColor: str = Field(default="0xFFFFFF", pattern=r"^0x[0-9A-Fa-f]{6}$")
    FontAlpha: float = Field(default=1, ge=0, le=1)
    TextContent: str = Field(default="", max_length=64)


class WatermarkFields(Named):
    Type: Literal["image", "text"]
    CoordinateOrigin: Literal["TopLeft", "TopRight", "BottomLeft", "BottomRight"] = "TopLeft"
    XPos: Length = "0px"
    YPos: Length = "0px"
    ImageTemplate: ImageWatermarkInput | None = None
    TextTemplate: TextWatermarkInput | None = None


class DescribeTemplatesRequest(Wire):
    Definitions: list[int] | None = Field(default=None, max_length=100)
    Type: Literal["Preset", "Custom"] | None = None
    Name: str | None = Field(default=None, max_length=64)
    Offset: int = Field(default=0, ge=0, le=10**6)
    Limit: int = Field(default=10, ge=1, le=100)


class DescribeWatermarkTemplatesRequest(DescribeTemplatesRequest):
    Type: Literal["image", "text"] | None = None  # type: ignore[assignment]  # the watermark's own; no presets


class DefinitionRequest(Wire):
    Definition: int = Field(ge=1, le=LAST_CUSTOM)


# ------------------------------------------------------------------ MPS fields -> our parameters
def _size(value: int) -> str | None:
    return str(value) if value else None


def _transcode(f: TranscodeFields) -> dict[str, Any]:
    video, audio = f.VideoTemplate or VideoTemplateInfo(), f.AudioTemplate or AudioTemplateInfo()
    codec = {"libx264": "H.264", "libx265": "H.265", "av1": "AV1"}[video.Codec]
    return {"Container": {"Format": f.Container},
            "Video": {k: v for k, v in {"Codec": codec, "Width": _size(video.Width), "Height": _size(video.Height),
                                        "Fps": video.Fps or None, "Bitrate": video.Bitrate or None,
                                        "Gop": video.Gop or None, "Crf": video.Vcrf or None,
                                        "Remove": "true" if f.RemoveVideo else None}.items() if v is not None},
            "Audio": {k: v for k, v in {"Codec": "mp3" if "mp3" in audio.Codec else "aac",
                                        "Bitrate": audio.Bitrate or None, "Samplerate": audio.SampleRate,
                                        "Channels": audio.AudioChannel,
                                        "Remove": "true" if f.RemoveAudio else None}.items() if v is not None}}


def _snapshot(f: SnapshotFields) -> dict[str, Any]:
    return {k: v for k, v in {"Mode": "Interval", "Format": f.Format, "Width": _size(f.Width),
                              "Height": _size(f.Height)}.items() if v is not None}


def _sampled(f: SampleSnapshotFields) -> dict[str, Any]:
    if f.SampleType == "Percent":  # one image every SampleInterval % of the duration, from the start
        return _snapshot(f) | {"Mode": "Average", "Start": "0", "Count": str(max(1, 100 // f.SampleInterval))}
    return _snapshot(f) | {"Start": "0", "TimeInterval": str(f.SampleInterval)}


def _sprite(f: ImageSpriteFields) -> dict[str, Any]:
    """Width and Height are a cell's (each frame is scaled to the cell)."""
    frames = {k: v for k, v in _sampled(f).items() if k not in ("Width", "Height")}
    return frames | {"SnapshotOutMode": "OnlySprite", "SpriteSnapshotConfig": {
        "CellWidth": _size(f.Width) or "142", "CellHeight": _size(f.Height) or "80", "Padding": "0", "Margin": "0",
        "Color": "black", "Columns": str(f.ColumnCount), "Lines": str(f.RowCount)}}


def _animated(f: AnimatedGraphicsFields) -> dict[str, Any]:
    video = {"Codec": f.Format, "Fps": str(f.Fps), "AnimateFramesPerSecond": str(f.Fps),
             "Width": _size(f.Width), "Height": _size(f.Height), "Quality": str(f.Quality) if f.Format == "webp" else None}
    return {"Container": {"Format": f.Format}, "Video": {k: v for k, v in video.items() if v is not None}}


def _watermark(f: WatermarkFields) -> dict[str, Any]:
    """Our watermark; an image's Url is its stored copy's, set once the whole template is valid."""
    units = {f.XPos[-1], f.YPos[-1]}
    if len(units) > 1:
        raise InvalidInputError("XPos, YPos: both in % or both in px", code="InvalidParameterValue")
    mark: dict[str, Any] = {"Type": f.Type.capitalize(), "Pos": f.CoordinateOrigin,
                            "LocMode": "Relativity" if "%" in units else "Absolute",
                            "Dx": f.XPos.rstrip("%px"), "Dy": f.YPos.rstrip("%px")}
    if f.Type == "image":
        if f.ImageTemplate is None:
            raise InvalidInputError("ImageTemplate is required for an image watermark", code="MissingParameter")
        width, height = f.ImageTemplate.Width, f.ImageTemplate.Height
        if width.endswith("%") != height.endswith("%") and float(height.rstrip("%px")):
            raise InvalidInputError("ImageTemplate.Width, Height: both in % or both in px", code="InvalidParameterValue")
        sides = {k: v.rstrip("%px") for k, v in (("Width", width), ("Height", height)) if float(v.rstrip("%px"))}
        mark["Image"] = {"Url": PENDING, "Mode": "Proportion" if width.endswith("%") else "Fixed",
                         **sides}
    else:
        text = f.TextTemplate or TextWatermarkInput()
        mark["Text"] = {"Text": text.TextContent or " ", "FontType": text.FontType, "FontColor": text.FontColor,
                        "FontSize": text.FontSize.removesuffix("px"), "Transparency": str(max(1, round(text.FontAlpha * 100)))}
    return mark


class Kind(NamedTuple):
    name: str  # CreateXTemplate, DescribeXTemplates, XTemplateSet
    set_type: str  # the MediaProcessResultSet Type whose Definitions it serves
    tag: str  # our template Tag
    field: str  # where our parameters sit in an operation
    fields: type[Named]
    params: Callable[[Any], dict[str, Any]]
    ext: Callable[[dict[str, Any]], str]


KINDS = {kind.name: kind for kind in (
    Kind("Transcode", "Transcode", "Transcode", "Transcode", TranscodeFields, _transcode,
         lambda p: "m3u8" if p["Container"]["Format"] == "hls" else p["Container"]["Format"]),
    Kind("SnapshotByTimeOffset", "SnapshotByTimeOffset", "Snapshot", "Snapshot", SnapshotFields, _snapshot,
         lambda p: p["Format"]),
    Kind("SampleSnapshot", "SampleSnapshot", "Snapshot", "Snapshot", SampleSnapshotFields, _sampled,
         lambda p: p["Format"]),
    Kind("ImageSprite", "ImageSprites", "Snapshot", "Snapshot", ImageSpriteFields, _sprite, lambda p: p["Format"]),
    Kind("AnimatedGraphics", "AnimatedGraphics", "Animation", "Animation", AnimatedGraphicsFields, _animated,
         lambda p: p["Container"]["Format"]),
    Kind("Watermark", "Watermark", "Watermark", "Watermark", WatermarkFields, _watermark, lambda p: ""),
)}
KIND_OF_SET = {kind.set_type: kind for kind in KINDS.values()}


def _modify_request(kind: Kind) -> type[DefinitionRequest]:
    """ModifyXTemplate: the Definition, and any of the kind's fields (those given replace the stored ones)."""
    optional: dict[str, Any] = {name: (Optional[info.annotation], None)  # noqa: UP045 (create_model takes a type)
                                for name, info in kind.fields.model_fields.items()}
    return create_model(f"Modify{kind.name}TemplateRequest", __base__=DefinitionRequest, **optional)


ModifyRequest = {name: _modify_request(kind) for name, kind in KINDS.items()}
TranscodeOverride = create_model(  # an OverrideParameter: any of a transcode template's fields
    "TranscodeOverride", __base__=Wire,
    **{name: (Optional[info.annotation], None)  # noqa: UP045 (create_model takes a type)
       for name, info in TranscodeFields.model_fields.items() if name not in ("Name", "Comment")})
VIDEO_FIELDS = {"Codec": "Codec", "Fps": "Fps", "Bitrate": "Bitrate", "Width": "Width", "Height": "Height",
                "Gop": "Gop", "Vcrf": "Crf"}
AUDIO_FIELDS = {"Codec": "Codec", "Bitrate": "Bitrate", "SampleRate": "Samplerate", "AudioChannel": "Channels"}


def raw_transcode(raw: Any) -> dict[str, Any]:
    """A RawParameter (a whole transcode template, given with Definition 0) as our parameters."""
    return _transcode(parse(TranscodeFields, raw if isinstance(raw, dict) else {}))


def overridden(params: dict[str, Any], override: Any) -> dict[str, Any]:
    """`params` (ours) with what an OverrideParameter gives replacing the template's own (0: the source's)."""
    given = parse(TranscodeOverride, override if isinstance(override, dict) else {}).given()
    whole = _transcode(TranscodeFields.model_validate({"Container": params["Container"]["Format"], **given}))
    changed = {**params, "Container": whole["Container"] if "Container" in given else params["Container"]}
    for part, names, remove in (("Video", VIDEO_FIELDS, "RemoveVideo"), ("Audio", AUDIO_FIELDS, "RemoveAudio")):
        section = dict(params.get(part) or {})
        for theirs, ours in names.items():
            if theirs in (given.get(f"{part}Template") or {}):
                section.pop(ours, None)
                section |= {ours: whole[part][ours]} if ours in whole[part] else {}
        if remove in given:
            section["Remove"] = "true" if given[remove] else "false"
        changed[part] = section
    return changed
