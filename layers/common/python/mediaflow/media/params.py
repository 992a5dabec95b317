"""Tencent COS CI template parameters (Transcode, Snapshot, Animation, Segment, Concat), parsed from
`xmltodict` output.

Every leaf arrives as a string, an empty element as None: blanks fall back to the defaults,
numbers and booleans are coerced by pydantic. Ranges follow the CI reference where they keep
ffmpeg safe (no 10 000 px frames, no unbounded snapshot counts) and give the caller a clear error.
Invalid values raise pydantic's ValidationError; callers turn it into InvalidInputError.

Longer than 400 lines: one model per template kind, sharing the coercion helpers and ranges.
"""

import math
import re
from typing import Any, Literal, NamedTuple

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from ..exceptions import InvalidInputError

VIDEO_CODECS = ("H.264", "H.265", "VP8")
AUDIO_CODECS = ("aac", "mp3", "opus", "vorbis", "flac")
H264_PROFILES = ("baseline", "main", "high", "auto")
# placebo/veryslow are left out: they multiply the run time for no visible gain.
X26X_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower")
PIXEL_FORMATS = ("yuv420p", "yuv422p", "yuv444p", "yuvj420p", "yuvj422p", "yuvj444p", "auto")
MAX_SNAPSHOTS = 10000
# Each time offset adds a term to one select expression; this keeps it far below Linux's 128 KiB per argument.
MAX_TIME_OFFSETS = 1000
# Larger sprite sheets are refused: one 16384 px square frame is already 1 GiB of RGBA to tile and encode.
MAX_SHEET_SIDE = 16384
# A time-point snapshot: seconds ("3.5s") or a share of the duration ("10%"), as MPS's ExtTimeOffsetSet.
TIME_OFFSET = re.compile(r"^(?P<value>\d+(?:\.\d+)?)(?P<unit>s|%)$")
SAMPLE_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000, 88200, 96000)
HLS = "hls"


class ContainerSpec(NamedTuple):
    extension: str
    muxer: str
    video_codecs: tuple[str, ...]  # empty: audio-only container
    audio_codecs: tuple[str, ...]
    default_video: str | None
    default_audio: str


CONTAINERS: dict[str, ContainerSpec] = {
    "mp4": ContainerSpec("mp4", "mp4", ("H.264", "H.265"), ("aac", "mp3", "opus", "flac"), "H.264", "aac"),
    "mkv": ContainerSpec("mkv", "matroska", VIDEO_CODECS, AUDIO_CODECS, "H.264", "aac"),
    "flv": ContainerSpec("flv", "flv", ("H.264", "H.265"), ("aac", "mp3"), "H.264", "aac"),
    "ts": ContainerSpec("ts", "mpegts", ("H.264", "H.265"), ("aac", "mp3", "opus"), "H.264", "aac"),
    # a VOD playlist; its MPEG-TS segments are written beside it
    HLS: ContainerSpec("m3u8", "hls", ("H.264", "H.265"), ("aac", "mp3"), "H.264", "aac"),
    "webm": ContainerSpec("webm", "webm", ("VP8",), ("opus", "vorbis"), "VP8", "opus"),
    "mp3": ContainerSpec("mp3", "mp3", (), ("mp3",), None, "mp3"),
    "aac": ContainerSpec("aac", "adts", (), ("aac",), None, "aac"),
    "flac": ContainerSpec("flac", "flac", (), ("flac",), None, "flac"),
}


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _pick(value: str, allowed: tuple[str, ...], what: str) -> str:
    """Case-insensitive match against `allowed`, returning the canonical spelling."""
    for name in allowed:
        if value.strip().lower() == name.lower():
            return name
    raise ValueError(f"unsupported {what} {value!r}; expected one of {', '.join(allowed)}")


def _even_size(value: int | None) -> int | None:
    if value is not None and value % 2:
        raise ValueError(f"must be an even number of pixels, got {value}")
    return value


class Params(BaseModel):
    # "inf" and "nan" parse as floats; they are never meaningful here. Every string is bounded (a URL
    # or key at most), so that a template or job stays small whatever a request holds.
    model_config = ConfigDict(extra="ignore", populate_by_name=True, allow_inf_nan=False, str_max_length=2048)

    @model_validator(mode="before")
    @classmethod
    def _drop_blanks(cls, data: Any) -> Any:
        # <Width></Width> arrives as None and <Width> </Width> as "": both mean "not given".
        if isinstance(data, dict):
            return {k: (v.strip() if isinstance(v, str) else v) for k, v in data.items() if not _blank(v)}
        return data


def _size() -> Any:
    return Field(default=None, ge=128, le=4096)


class Container(Params):
    Format: str = "mp4"

    @field_validator("Format")
    @classmethod
    def _lower(cls, value: str) -> str:
        return value.lower()


class VideoParams(Params):
    Codec: str = "H.264"
    Width: int | None = _size()
    Height: int | None = _size()
    Fps: float | None = Field(default=None, gt=0, le=60)
    Bitrate: int | None = Field(default=None, ge=10, le=50000)  # kbps
    Crf: float | None = Field(default=None, gt=0, le=51)
    Gop: int | None = Field(default=None, ge=1, le=100000)
    Profile: str | None = None
    Preset: str | None = None
    Pixfmt: str | None = None
    HlsTsTime: float = Field(default=5, gt=0, le=60)  # seconds per segment of an hls output
    Remove: bool = False

    _even = field_validator("Width", "Height")(_even_size)

    @field_validator("Codec")
    @classmethod
    def _codec(cls, value: str) -> str:
        return _pick(value, VIDEO_CODECS, "video codec")

    @field_validator("Profile")
    @classmethod
    def _profile(cls, value: str | None) -> str | None:
        return None if value is None else _pick(value, H264_PROFILES, "H.264 profile")

    @field_validator("Preset")
    @classmethod
    def _preset(cls, value: str | None) -> str | None:
        return None if value is None else _pick(value, X26X_PRESETS, "preset")

    @field_validator("Pixfmt")
    @classmethod
    def _pixfmt(cls, value: str | None) -> str | None:
        return None if value is None else _pick(value, PIXEL_FORMATS, "pixel format")


class AudioParams(Params):
    Codec: str = "aac"
    Samplerate: int | None = None
    Bitrate: int | None = Field(default=None, ge=8, le=1000)  # kbps
    Channels: int | None = Field(default=None, ge=1, le=8)
    Remove: bool = False

    @field_validator("Codec")
    @classmethod
    def _codec(cls, value: str) -> str:
        return _pick(value, AUDIO_CODECS, "audio codec")

    @field_validator("Samplerate")
    @classmethod
    def _rate(cls, value: int | None) -> int | None:
        if value is not None and value not in SAMPLE_RATES:
            raise ValueError(f"unsupported sample rate {value}; expected one of {SAMPLE_RATES}")
        return value


class TimeInterval(Params):
    Start: float | None = Field(default=None, ge=0)
    Duration: float | None = Field(default=None, gt=0)


class TransConfig(Params):
    AdjDarMethod: Literal["scale", "crop", "pad", "none"] | None = None

    @field_validator("AdjDarMethod", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value


# Field names below repeat the class names, so the types are referenced through aliases.
_Container, _TimeInterval, _TransConfig = Container, TimeInterval, TransConfig


LENGTH = re.compile(r"^(?P<number>\d{1,5}(?:\.\d{1,4})?)(?P<unit>%|px)$")  # "10%" of the picture, or "16px"
MAX_MOSAICS = 10


class MosaicRegion(Params):
    """A blurred rectangle (MPS's MosaicSet) over a time range of the output: placed from a corner of
    the picture by XPos/YPos, sized Width x Height; each "N%" of the picture or "Npx"."""

    CoordinateOrigin: Literal["TopLeft", "TopRight", "BottomLeft", "BottomRight"] = "TopLeft"
    XPos: str = "0px"
    YPos: str = "0px"
    Width: str = "10%"
    Height: str = "10%"
    StartTime: float | None = Field(default=None, ge=0)  # seconds of the output
    EndTime: float | None = Field(default=None, gt=0)

    @field_validator("XPos", "YPos", "Width", "Height")
    @classmethod
    def _length(cls, value: str) -> str:
        match = LENGTH.fullmatch(value)
        if not match:
            raise ValueError(f"{value!r} is not a length like 10% or 16px")
        if match["unit"] == "%" and float(match["number"]) > 100:
            raise ValueError(f"{value!r}: at most 100%")
        return value

    @model_validator(mode="after")
    def _checked(self) -> "MosaicRegion":
        for name in ("Width", "Height"):
            if float(LENGTH.fullmatch(getattr(self, name))["number"]) == 0:  # type: ignore[index]
                raise ValueError(f"{name} must not be 0")
        _check_range(self.StartTime, self.EndTime)
        return self


_MosaicRegion = MosaicRegion


class TranscodeParams(Params):
    Container: _Container = Field(default_factory=_Container)
    Video: VideoParams = Field(default_factory=VideoParams)
    Audio: AudioParams = Field(default_factory=AudioParams)
    TimeInterval: _TimeInterval = Field(default_factory=_TimeInterval)
    TransConfig: _TransConfig = Field(default_factory=_TransConfig)
    Mosaic: list[_MosaicRegion] = Field(default_factory=list, max_length=MAX_MOSAICS)

    @property
    def container(self) -> ContainerSpec:
        spec = CONTAINERS.get(self.Container.Format)
        if spec is None:
            raise InvalidInputError(
                f"unsupported container format {self.Container.Format!r}; "
                f"expected one of {', '.join(CONTAINERS)}"
            )
        return spec

    @property
    def extension(self) -> str:
        return self.container.extension

    @property
    def video_codec(self) -> str | None:
        """The video codec to encode, or None when the output carries no video."""
        spec = CONTAINERS.get(self.Container.Format)
        if self.Video.Remove or (spec and not spec.video_codecs):
            return None
        return self.Video.Codec

    @property
    def audio_codec(self) -> str | None:
        """The audio codec to encode, or None when the output carries no audio."""
        return None if self.Audio.Remove else self.Audio.Codec

    @model_validator(mode="after")
    def _fits_container(self) -> "TranscodeParams":
        spec = CONTAINERS.get(self.Container.Format)
        if spec is None:
            return self  # reported by `extension`, where the output is named
        # A codec the template does not name is the container's (VP8 for webm, mp3 for mp3).
        # Written into the model, so that a dump validates back to the same parameters.
        if "Codec" not in self.Video.model_fields_set and spec.default_video:
            self.Video.Codec = spec.default_video
        if "Codec" not in self.Audio.model_fields_set:
            self.Audio.Codec = spec.default_audio
        fmt = self.Container.Format
        if self.video_codec and self.video_codec not in spec.video_codecs:
            raise ValueError(f"video codec {self.video_codec} cannot be stored in {fmt}")
        if self.audio_codec and self.audio_codec not in spec.audio_codecs:
            raise ValueError(f"audio codec {self.audio_codec} cannot be stored in {fmt}")
        if not self.video_codec and not self.audio_codec:
            raise ValueError(f"nothing to write: both video and audio are removed for {fmt}")
        return self


# ------------------------------------------------------------------ animation (Tag=Animation)
# Container format -> the codec it holds, which is also the file's extension; hgif is a gif made with more care.
ANIMATION_FORMATS = {"gif": "gif", "hgif": "gif", "webp": "webp"}


class AnimationContainer(Params):
    Format: Literal["gif", "hgif", "webp"] = "gif"

    @field_validator("Format", mode="before")
    @classmethod
    def _format(cls, value: Any) -> Any:
        return _pick(value, tuple(ANIMATION_FORMATS), "animation format") if isinstance(value, str) else value


class AnimationVideo(Params):
    """Which frames: AnimateFramesPerSecond > AnimateOnlyKeepKeyFrame > AnimateTimeIntervalOfFrame,
    every frame when none is set (see `frame_mode`). Fps is the playback rate; without it the frames
    keep the source's timing."""

    Codec: Literal["gif", "webp"] | None = None  # None: the container's
    Width: int | None = _size()  # one side given: the other keeps the aspect ratio
    Height: int | None = _size()
    Fps: float | None = Field(default=None, gt=0, le=60)
    AnimateOnlyKeepKeyFrame: bool = False
    AnimateTimeIntervalOfFrame: float | None = Field(default=None, gt=0)
    AnimateFramesPerSecond: float | None = Field(default=None, gt=0)
    Quality: float | None = Field(default=None, ge=1, lt=100)  # webp only; ignored for gif

    @field_validator("Codec", mode="before")
    @classmethod
    def _codec(cls, value: Any) -> Any:
        return _pick(value, ("gif", "webp"), "animation codec") if isinstance(value, str) else value

    @property
    def frame_mode(self) -> Literal["rate", "keyframes", "interval", "every"]:
        if self.AnimateFramesPerSecond:
            return "rate"
        if self.AnimateOnlyKeepKeyFrame:
            return "keyframes"
        return "interval" if self.AnimateTimeIntervalOfFrame else "every"


class AnimationParams(Params):
    Container: AnimationContainer = Field(default_factory=AnimationContainer)
    Video: AnimationVideo = Field(default_factory=AnimationVideo)
    TimeInterval: _TimeInterval = Field(default_factory=_TimeInterval)

    @property
    def extension(self) -> str:
        return ANIMATION_FORMATS[self.Container.Format]

    @model_validator(mode="after")
    def _codec_fits_container(self) -> "AnimationParams":
        codec = ANIMATION_FORMATS[self.Container.Format]
        if self.Video.Codec is None:
            self.Video.Codec = codec  # written into the model, so that a dump validates back the same
        elif self.Video.Codec != codec:
            raise ValueError(f"animation codec {self.Video.Codec} cannot be stored in {self.Container.Format}")
        return self


# ------------------------------------------------------------------ snapshots and sprites (Tag=Snapshot)
def _sheet_side(cells: int, cell: int, padding: int, margin: int) -> int:
    return cells * cell + (cells - 1) * padding + 2 * margin


class SpriteLayout(NamedTuple):
    """Where each frame goes: sheets of `columns` x `lines` cells, filled row by row."""

    columns: int
    lines: int
    cell_width: int
    cell_height: int
    padding: int  # between cells
    margin: int  # around the grid

    @property
    def per_sheet(self) -> int:
        return self.columns * self.lines

    @property
    def sheet_size(self) -> tuple[int, int]:
        return (_sheet_side(self.columns, self.cell_width, self.padding, self.margin),
                _sheet_side(self.lines, self.cell_height, self.padding, self.margin))

    def sheets(self, frames: int) -> int:
        return math.ceil(frames / self.per_sheet)

    def place(self, frame: int) -> tuple[int, int, int]:
        """(sheet, x, y) of frame number `frame`: the sheet's index and the cell's top-left corner."""
        sheet, cell = divmod(frame, self.per_sheet)
        row, column = divmod(cell, self.columns)
        return (sheet, self.margin + column * (self.cell_width + self.padding),
                self.margin + row * (self.cell_height + self.padding))


class SpriteConfig(Params):
    """SpriteSnapshotConfig. A cell size left out is the snapshots' own (one given: keep the aspect)."""

    CellWidth: int | None = Field(default=None, ge=8, le=4096)
    CellHeight: int | None = Field(default=None, ge=8, le=4096)
    Padding: int = Field(default=0, ge=0, le=1024)
    Margin: int = Field(default=0, ge=0, le=1024)
    Color: str = "black"
    Columns: int | None = Field(default=None, ge=1, le=10000)  # required when sprites are asked for
    Lines: int | None = Field(default=None, ge=1, le=10000)

    @field_validator("Color")
    @classmethod
    def _color(cls, value: str) -> str:
        # An ffmpeg colour name ("black", "SlateGray") or hex; nothing else reaches the filter graph.
        if re.fullmatch(r"[A-Za-z]{1,32}", value):
            return value
        if match := re.fullmatch(r"(?:#|0x)([0-9A-Fa-f]{6}(?:[0-9A-Fa-f]{2})?)", value):
            return "0x" + match.group(1)
        raise ValueError(f"not a colour: {value!r}; expected an ffmpeg colour name or #RRGGBB")

    @model_validator(mode="after")
    def _sheet_fits(self) -> "SpriteConfig":
        for cells, cell in ((self.Columns, self.CellWidth), (self.Lines, self.CellHeight)):
            if cells and cell and _sheet_side(cells, cell, self.Padding, self.Margin) > MAX_SHEET_SIDE:
                raise ValueError(f"a sprite sheet would be more than {MAX_SHEET_SIDE} px wide or high")
        return self

    def layout(self, frame_width: int, frame_height: int) -> SpriteLayout:
        """The layout for snapshots of frame_width x frame_height; InvalidInputError if too large."""
        if not (self.Columns and self.Lines):
            raise ValueError("Columns and Lines are required for sprites")  # SnapshotParams checks it first
        width, height = self.CellWidth, self.CellHeight
        if width and not height:
            height = max(1, round(width * frame_height / frame_width))
        elif height and not width:
            width = max(1, round(height * frame_width / frame_height))
        layout = SpriteLayout(self.Columns, self.Lines, width or frame_width, height or frame_height,
                              self.Padding, self.Margin)
        if max(layout.sheet_size) > MAX_SHEET_SIDE:
            w, h = layout.sheet_size
            raise InvalidInputError(f"a sprite sheet of {w}x{h} px is more than {MAX_SHEET_SIDE} px wide or high")
        return layout


class SnapshotParams(Params):
    """Interval: every TimeInterval s from Start (without TimeInterval: Count consecutive frames,
    one by default). Average: Count frames spread evenly from Start to the end. KeyFrame: the
    key frames from Start, at most Count. Never more than MAX_SNAPSHOTS images.

    ExtTimeOffsetSet (MPS's time-point snapshots, "3.5s" or "10%") overrides all of these: one
    image at or just after each offset, in time order. SnapshotOutMode says whether the images,
    sprite sheets of them (SpriteSnapshotConfig), or both are written."""

    Mode: Literal["Interval", "Average", "KeyFrame"] = "Interval"
    Start: float = Field(default=0, ge=0)
    TimeInterval: float | None = Field(default=None, gt=0, le=3600)
    Count: int | None = Field(default=None, gt=0, le=MAX_SNAPSHOTS)
    Width: int | None = _size()
    Height: int | None = _size()
    Format: Literal["jpg", "png"] = "jpg"
    ExtTimeOffsetSet: list[str] | None = Field(default=None, max_length=MAX_TIME_OFFSETS)
    SnapshotOutMode: Literal["OnlySnapshot", "OnlySprite", "SnapshotAndSprite"] = "OnlySnapshot"
    SpriteSnapshotConfig: SpriteConfig | None = None

    _even = field_validator("Width", "Height")(_even_size)

    @field_validator("Mode", mode="before")
    @classmethod
    def _mode(cls, value: Any) -> Any:
        return _pick(value, ("Interval", "Average", "KeyFrame"), "snapshot mode") if isinstance(value, str) else value

    @field_validator("Format", mode="before")
    @classmethod
    def _format(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value

    @field_validator("SnapshotOutMode", mode="before")
    @classmethod
    def _out_mode(cls, value: Any) -> Any:
        modes = ("OnlySnapshot", "OnlySprite", "SnapshotAndSprite")
        return _pick(value, modes, "SnapshotOutMode") if isinstance(value, str) else value

    @field_validator("ExtTimeOffsetSet", mode="before")
    @classmethod
    def _offsets_as_list(cls, value: Any) -> Any:
        # xmltodict gives one <ExtTimeOffsetSet> as a string and repeated ones as a list;
        # a string may also list several offsets separated by commas.
        if isinstance(value, str):
            value = value.split(",")
        if isinstance(value, list):
            value = [str(item).strip() for item in value if not _blank(item)]
            return value or None
        return value

    @field_validator("ExtTimeOffsetSet")
    @classmethod
    def _offsets(cls, value: list[str] | None) -> list[str] | None:
        for item in value or ():
            match = TIME_OFFSET.match(item)
            if not match:
                raise ValueError(f"{item!r} is not a time offset; expected seconds like '3.5s' "
                                 "or a percentage like '10%'")
            if match["unit"] == "%" and float(match["value"]) > 100:
                raise ValueError(f"{item!r} is past the end: a percentage is at most 100%")
        return value

    @property
    def wants_snapshots(self) -> bool:
        return self.SnapshotOutMode != "OnlySprite"

    @property
    def wants_sprites(self) -> bool:
        return self.SnapshotOutMode != "OnlySnapshot"

    @model_validator(mode="after")
    def _complete(self) -> "SnapshotParams":
        if self.Mode == "Average" and self.Count is None and not self.ExtTimeOffsetSet:
            raise ValueError("Average mode needs Count: the number of snapshots to spread over the media")
        sprite = self.SpriteSnapshotConfig
        if self.wants_sprites and not (sprite and sprite.Columns and sprite.Lines):
            raise ValueError(
                f"SnapshotOutMode {self.SnapshotOutMode} needs SpriteSnapshotConfig with Columns and Lines"
            )
        return self


# ------------------------------------------------------------------ segment (Tag=Segment: remux into pieces)
SEGMENT_FORMATS = ("mp4", "ts", "mkv", "flv", HLS, "mp3", "aac")


def _check_range(start: float | None, end: float | None) -> None:
    if start is not None and end is not None and end <= start:
        raise ValueError("EndTime must be after StartTime")


class SegmentParams(Params):
    """Cut the input, without re-encoding, into pieces of about Duration s (each starts at a key frame),
    named by the output's ${Number}; Format hls writes one m3u8 and its ts pieces. mp3 and aac take
    the audio alone, which must already be in that codec."""

    Format: str = "mp4"
    Duration: float = Field(default=10, gt=0, le=3600)
    StartTime: float | None = Field(default=None, ge=0)
    EndTime: float | None = Field(default=None, gt=0)

    @field_validator("Format")
    @classmethod
    def _format(cls, value: str) -> str:
        return _pick(value, SEGMENT_FORMATS, "segment format")

    @model_validator(mode="after")
    def _range(self) -> "SegmentParams":
        _check_range(self.StartTime, self.EndTime)
        return self

    @property
    def container(self) -> ContainerSpec:
        return CONTAINERS[self.Format]

    @property
    def extension(self) -> str:
        """The pieces' extension (an hls playlist's pieces are ts)."""
        return "ts" if self.Format == HLS else self.container.extension

    @property
    def audio_only(self) -> bool:
        return not self.container.video_codecs


# ------------------------------------------------------------------ concat (Tag=Concat)
MAX_FRAGMENTS = 20


class ConcatFragment(Params):
    """Another object of the input's bucket (a URL or a key), put before (Start) or after (End) the
    input; StartTime/EndTime keep only that stretch of it."""

    Url: str
    Mode: Literal["Start", "End"] = "End"
    StartTime: float | None = Field(default=None, ge=0)
    EndTime: float | None = Field(default=None, gt=0)

    @field_validator("Mode", mode="before")
    @classmethod
    def _mode(cls, value: Any) -> Any:
        return _pick(value, ("Start", "End"), "fragment Mode") if isinstance(value, str) else value

    @model_validator(mode="after")
    def _range(self) -> "ConcatFragment":
        _check_range(self.StartTime, self.EndTime)
        return self


_ConcatFragment = ConcatFragment


class ConcatParams(Params):
    """ConcatTemplate: the fragments and the input joined in order (see `concat_order`), re-encoded
    with Video/Audio/Container to one picture size (Video's Width/Height, else the first part's)."""

    ConcatFragment: list[_ConcatFragment] = Field(min_length=1, max_length=MAX_FRAGMENTS)
    Container: _Container = Field(default_factory=_Container)
    Video: VideoParams = Field(default_factory=VideoParams)
    Audio: AudioParams = Field(default_factory=AudioParams)
    # The stretch of the job's own input kept (MPS EditMedia's first clip); none given: all of it.
    InputStartTime: float | None = Field(default=None, ge=0)
    InputEndTime: float | None = Field(default=None, gt=0)

    @field_validator("ConcatFragment", mode="before")
    @classmethod
    def _as_list(cls, value: Any) -> Any:
        return [value] if isinstance(value, dict) else value

    @model_validator(mode="after")
    def _fits_container(self) -> "ConcatParams":
        _check_range(self.InputStartTime, self.InputEndTime)
        # Refused here, where the job is submitted, rather than when it runs. The container's
        # default codecs are written into Video and Audio (shared with the TranscodeParams), so
        # that a dump validates back to the same parameters.
        if self.Container.Format not in CONTAINERS:
            raise ValueError(f"unsupported container format {self.Container.Format!r}; "
                             f"expected one of {', '.join(CONTAINERS)}")
        try:
            self.as_transcode()
        except ValidationError as error:  # its own message, not a nested error's dump
            raise ValueError("; ".join(str(e.get("ctx", {}).get("error", e["msg"])) for e in error.errors())) from None
        return self

    @property
    def extension(self) -> str:
        return self.as_transcode().extension

    def as_transcode(self) -> TranscodeParams:
        """The encoding settings of the joined output."""
        return TranscodeParams(Container=self.Container, Video=self.Video, Audio=self.Audio)


def concat_order(p: ConcatParams) -> list[ConcatFragment | None]:
    """The parts in the order they are joined: the Start fragments as given, None for the job's own
    input, then the End fragments as given."""
    return [*(f for f in p.ConcatFragment if f.Mode == "Start"), None,
            *(f for f in p.ConcatFragment if f.Mode == "End")]
