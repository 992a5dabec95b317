"""ffmpeg argument lists for transcoding and snapshots, built from validated template parameters.

Nothing here runs ffmpeg. Only numbers from the validated models reach a filter graph, and
they are formatted here (`_int`, `_num`), so a template cannot inject filter syntax.
"""

import math
import re

from ..exceptions import InvalidInputError
from .ffmpeg import input_args
from .params import MAX_SNAPSHOTS, SnapshotParams, TranscodeParams

VIDEO_ENCODERS = {"H.264": "libx264", "H.265": "libx265", "VP8": "libvpx"}
AUDIO_ENCODERS = {"aac": "aac", "mp3": "libmp3lame", "opus": "libopus", "vorbis": "libvorbis", "flac": "flac"}
DEFAULT_CRF = 25
# 4:2:0 encoders refuse odd sizes; a no-op for even ones.
EVEN_SIZE = "scale=trunc(iw/2)*2:trunc(ih/2)*2"
# Video streams that are not cover art; "?" lets a file without video (or audio) through.
FIRST_VIDEO, FIRST_AUDIO = "0:V:0?", "0:a:0?"
_NUMBERED = re.compile(r"%0?\d*d")


# ------------------------------------------------------------------ transcoding
def transcode_args(src: str, dst: str, p: TranscodeParams, *, source_duration: float | None = None) -> list[str]:
    container = p.container  # InvalidInputError for a format we cannot write
    start, length = p.TimeInterval.Start, p.TimeInterval.Duration
    if start and source_duration is not None and start >= source_duration:
        # ffmpeg would "succeed" with an output that has no streams at all
        raise InvalidInputError(
            f"TimeInterval Start {_num(start)} s is past the end of the input ({_num(source_duration)} s)"
        )

    args = ["-ss", _num(start)] if start else []  # before -i: a fast, accurate input seek
    args += input_args(src)
    video, audio = p.video_codec, p.audio_codec
    args += ["-map", FIRST_VIDEO] if video else []
    args += ["-map", FIRST_AUDIO] if audio else []
    args += _video_args(p, video) if video else ["-vn"]
    args += _audio_args(p, audio) if audio else ["-an"]
    if length:
        args += ["-t", _num(length)]
    if container.muxer == "mp4":
        args += ["-movflags", "+faststart"]  # index first, so players can start before the end
    return [*args, "-f", container.muxer, dst]


def _video_args(p: TranscodeParams, codec: str) -> list[str]:
    v = p.Video
    encoder = VIDEO_ENCODERS[codec]
    args = ["-c:v", encoder, "-vf", scale_filter(v.Width, v.Height, p.TransConfig.AdjDarMethod) or EVEN_SIZE]
    if v.Fps:
        args += ["-r", _num(v.Fps)]
    args += _rate_control(codec, v.Crf, v.Bitrate)
    if v.Gop:
        args += ["-g", _int(v.Gop)]
    if codec == "H.264" and v.Profile and v.Profile != "auto":
        args += ["-profile:v", v.Profile]
    if encoder in ("libx264", "libx265") and v.Preset:
        args += ["-preset", v.Preset]
    if v.Pixfmt and v.Pixfmt != "auto":
        args += ["-pix_fmt", v.Pixfmt]
    elif codec in ("H.264", "H.265"):
        args += ["-pix_fmt", "yuv420p"]  # what every player decodes
    if codec == "H.265":
        args += ["-x265-params", "log-level=error"]  # x265 otherwise floods stderr
        if p.container.muxer == "mp4":
            args += ["-tag:v", "hvc1"]  # Apple players refuse the default hev1 tag
    return args


def _rate_control(codec: str, crf: float | None, bitrate: int | None) -> list[str]:
    """Crf wins over Bitrate; neither means constant quality at DEFAULT_CRF."""
    if crf is None and bitrate is not None:
        return ["-b:v", f"{_int(bitrate)}k"]
    quality = ["-crf", _num(crf if crf is not None else DEFAULT_CRF)]
    # libvpx treats -crf as a cap under its default target bitrate unless the target is 0
    return quality + ["-b:v", "0"] if codec == "VP8" else quality


def _audio_args(p: TranscodeParams, codec: str) -> list[str]:
    a = p.Audio
    args = ["-c:a", AUDIO_ENCODERS[codec]]
    if a.Samplerate:
        args += ["-ar", _int(a.Samplerate)]
    if a.Bitrate:
        args += ["-b:a", f"{_int(a.Bitrate)}k"]
    if a.Channels:
        args += ["-ac", _int(a.Channels)]
    return args


def scale_filter(width: int | None, height: int | None, method: str | None = None) -> str | None:
    """One side given: keep the aspect ratio (-2: the even size closest to it). Both given:
    stretch ("scale", "none", default), cover then crop ("crop"), or fit then pad black ("pad");
    setsar=1 so players show exactly width x height."""
    if width and height:
        w, h = _int(width), _int(height)
        if method == "crop":
            return f"scale={w}:{h}:force_original_aspect_ratio=increase,crop={w}:{h},setsar=1"
        if method == "pad":
            return (f"scale={w}:{h}:force_original_aspect_ratio=decrease:force_divisible_by=2,"
                    f"pad={w}:{h}:(ow-iw)/2:(oh-ih)/2:black,setsar=1")
        return f"scale={w}:{h},setsar=1"
    if width:
        return f"scale={_int(width)}:-2"
    if height:
        return f"scale=-2:{_int(height)}"
    return None


# ------------------------------------------------------------------ snapshots
def snapshot_times(p: SnapshotParams, duration: float, *, fps: float = 25.0) -> list[float]:
    """The instants (seconds) the snapshots will show: at most Count, never at or past `duration`.

    KeyFrame mode returns []: where key frames fall is only known once the file is decoded.
    Interval mode without TimeInterval takes consecutive frames; `fps` is the frame rate assumed
    for their instants."""
    remaining = duration - p.Start
    if p.Mode == "KeyFrame" or remaining <= 0:
        return []
    limit = p.Count or MAX_SNAPSHOTS
    if p.Mode == "Average":
        step = remaining / limit
    elif p.TimeInterval:
        step = p.TimeInterval
    else:
        step, limit = 1 / fps, p.Count or 1
    count = min(limit, MAX_SNAPSHOTS, math.ceil(remaining / step - 1e-9))
    return [round(p.Start + k * step, 6) for k in range(count)]


def snapshot_args(src: str, dst_pattern: str, p: SnapshotParams, *, duration: float) -> list[str]:
    """Images numbered from 0 into `dst_pattern` (e.g. "/tmp/out/snap-%d.jpg")."""
    if not _NUMBERED.search(dst_pattern):
        raise ValueError(f"dst_pattern needs a %d placeholder: {dst_pattern!r}")
    times = snapshot_times(p, duration)
    if p.Mode != "KeyFrame" and not times:
        raise InvalidInputError(
            f"snapshot Start {_num(p.Start)} s is past the end of the input ({_num(duration)} s)"
        )

    args = ["-skip_frame", "nokey"] if p.Mode == "KeyFrame" else []  # decode key frames only
    args += ["-ss", _num(p.Start)] if p.Start else []
    args += input_args(src)
    args += ["-map", "0:V:0"]
    filters = [f for f in (_sampling_filter(p, duration), scale_filter(p.Width, p.Height)) if f]
    if filters:
        args += ["-vf", ",".join(filters)]
    if p.Mode == "KeyFrame":
        args += ["-fps_mode", "vfr", "-frames:v", _int(p.Count or MAX_SNAPSHOTS)]
    else:
        args += ["-frames:v", _int(len(times))]
    args += ["-c:v", "mjpeg", "-q:v", "2"] if p.Format == "jpg" else ["-c:v", "png"]
    return [*args, "-start_number", "0", "-f", "image2", dst_pattern]


def _sampling_filter(p: SnapshotParams, duration: float) -> str | None:
    """An fps filter emitting one frame per step; time 0 is Start, thanks to the input seek."""
    if p.Mode == "Average" and p.Count:  # Count is required in this mode
        return f"fps={_int(p.Count)}/{_num(duration - p.Start)}"  # Count frames over what is left
    if p.Mode == "Interval" and p.TimeInterval:
        return f"fps=1/{_num(p.TimeInterval)}"
    return None


# ------------------------------------------------------------------ formatting
def _int(value: float) -> str:
    return str(int(value))


def _num(value: float) -> str:
    """1.5 -> "1.5", 25.0 -> "25": digits and a point only, whatever the caller passed."""
    if not math.isfinite(value):
        raise ValueError(f"not a finite number: {value}")
    text = f"{float(value):.6f}".rstrip("0").rstrip(".")
    return text or "0"
