"""Media processing with ffmpeg: template parameters, safe runs, probing, argument lists."""

from .commands import scale_filter, snapshot_args, snapshot_times, transcode_args
from .ffmpeg import error_summary, ffmpeg_path, input_args, run_ffmpeg
from .params import (
    AudioParams,
    Container,
    SnapshotParams,
    TimeInterval,
    TranscodeParams,
    TransConfig,
    VideoParams,
)
from .probe import AudioStream, FormatInfo, MediaInfo, StreamInfo, SubtitleStream, VideoStream, probe

__all__ = [
    "AudioParams",
    "AudioStream",
    "Container",
    "FormatInfo",
    "MediaInfo",
    "SnapshotParams",
    "StreamInfo",
    "SubtitleStream",
    "TimeInterval",
    "TransConfig",
    "TranscodeParams",
    "VideoParams",
    "VideoStream",
    "error_summary",
    "ffmpeg_path",
    "input_args",
    "probe",
    "run_ffmpeg",
    "scale_filter",
    "snapshot_args",
    "snapshot_times",
    "transcode_args",
]
