"""Tencent COS CI template parameters (Transcode, Snapshot), parsed from `xmltodict` output.

Every leaf arrives as a string, an empty element as None: blanks fall back to the defaults,
numbers and booleans are coerced by pydantic. Ranges follow the CI reference where they keep
ffmpeg safe (no 10 000 px frames, no unbounded snapshot counts) and give the caller a clear error.
Invalid values raise pydantic's ValidationError; callers turn it into InvalidInputError.
"""

from typing import Any, Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..exceptions import InvalidInputError

VIDEO_CODECS = ("H.264", "H.265", "VP8")
AUDIO_CODECS = ("aac", "mp3", "opus", "vorbis", "flac")
H264_PROFILES = ("baseline", "main", "high", "auto")
# placebo/veryslow are left out: they multiply the run time for no visible gain.
X26X_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower")
PIXEL_FORMATS = ("yuv420p", "yuv422p", "yuv444p", "yuvj420p", "yuvj422p", "yuvj444p", "auto")
MAX_SNAPSHOTS = 10000
SAMPLE_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000, 88200, 96000)


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
    # "inf" and "nan" parse as floats; they are never meaningful here
    model_config = ConfigDict(extra="ignore", populate_by_name=True, allow_inf_nan=False)

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


class TranscodeParams(Params):
    Container: _Container = Field(default_factory=_Container)
    Video: VideoParams = Field(default_factory=VideoParams)
    Audio: AudioParams = Field(default_factory=AudioParams)
    TimeInterval: _TimeInterval = Field(default_factory=_TimeInterval)
    TransConfig: _TransConfig = Field(default_factory=_TransConfig)

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


class SnapshotParams(Params):
    """Interval: every TimeInterval s from Start (without TimeInterval: Count consecutive frames,
    one by default). Average: Count frames spread evenly from Start to the end. KeyFrame: the
    key frames from Start, at most Count. Never more than MAX_SNAPSHOTS images."""

    Mode: Literal["Interval", "Average", "KeyFrame"] = "Interval"
    Start: float = Field(default=0, ge=0)
    TimeInterval: float | None = Field(default=None, gt=0, le=3600)
    Count: int | None = Field(default=None, gt=0, le=MAX_SNAPSHOTS)
    Width: int | None = _size()
    Height: int | None = _size()
    Format: Literal["jpg", "png"] = "jpg"

    _even = field_validator("Width", "Height")(_even_size)

    @field_validator("Mode", mode="before")
    @classmethod
    def _mode(cls, value: Any) -> Any:
        return _pick(value, ("Interval", "Average", "KeyFrame"), "snapshot mode") if isinstance(value, str) else value

    @field_validator("Format", mode="before")
    @classmethod
    def _format(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _average_needs_count(self) -> "SnapshotParams":
        if self.Mode == "Average" and self.Count is None:
            raise ValueError("Average mode needs Count: the number of snapshots to spread over the media")
        return self
