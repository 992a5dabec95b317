"""ffmpeg argument lists for transcoding, segments, concats, animations, snapshots and sprite sheets,
built from validated template parameters; the WebVTT index of a sprite and an hls playlist's renaming.

Nothing here runs ffmpeg. Only numbers from the validated models reach a filter graph, and
they are formatted here (`_int`, `_num`), so a template cannot inject filter syntax; the one
word that does (a sprite's colour) is a name or hex number, checked by its model.

Longer than 400 lines: one builder per operation, all sharing the number formatting that keeps filter
graphs safe, which is why they stay together.
"""

import math
import os
import re
from typing import NamedTuple
from urllib.parse import quote

from ..exceptions import InvalidInputError
from .ffmpeg import input_args
from .ffmpeg import int_arg as _int
from .ffmpeg import num_arg as _num
from .params import (
    HLS,
    LENGTH,
    MAX_SNAPSHOTS,
    TIME_OFFSET,
    AnimationParams,
    AnimationVideo,
    ConcatParams,
    MosaicRegion,
    SegmentParams,
    SnapshotParams,
    SpriteConfig,
    SpriteLayout,
    TranscodeParams,
    VideoParams,
)
from .probe import MediaInfo

VIDEO_ENCODERS = {"H.264": "libx264", "H.265": "libx265", "VP8": "libvpx"}
AUDIO_ENCODERS = {"aac": "aac", "mp3": "libmp3lame", "opus": "libopus", "vorbis": "libvorbis", "flac": "flac"}
DEFAULT_CRF = 25
# 4:2:0 encoders refuse odd sizes; a no-op for even ones.
EVEN_SIZE = "scale=trunc(iw/2)*2:trunc(ih/2)*2"
# Video streams that are not cover art; "?" lets a file without video (or audio) through.
FIRST_VIDEO, FIRST_AUDIO = "0:V:0?", "0:a:0?"
SEGMENT_TIME_DELTA = "0.05"  # seconds; see segment_args
_NUMBERED = re.compile(r"%0?\d*d")
# A palette made from the animation's own colours (ffmpeg's default is a fixed 3-3-2 one), in one
# graph: split feeds the frames both to palettegen and, once the palette is ready, to paletteuse.
# The whole-animation palette holds every frame in memory until the end: fine at animation sizes.
GIF_PALETTES = {
    # one palette for the whole animation, ordered dithering, only changed rectangles: small files
    "gif": "split[a][b];[a]palettegen[p];[b][p]paletteuse=dither=bayer:bayer_scale=5:diff_mode=rectangle",
    # a palette per frame and error-diffusion dithering: truer colours, larger files
    "hgif": "split[a][b];[a]palettegen=stats_mode=single[p];[b][p]paletteuse=new=1:dither=sierra2_4a",
}


# ------------------------------------------------------------------ transcoding
class Overlay(NamedTuple):
    """Watermarks drawn over the picture: the images' input options, and the -filter_complex graph
    (from the first input's video, through `video_filter`, to [vout])."""

    inputs: list[str]
    graph: str


def transcode_args(src: str, dst: str, p: TranscodeParams, *, source_duration: float | None = None,
                   overlay: Overlay | None = None, segment_from: float | None = None) -> list[str]:
    """For hls, `dst` is the playlist and the segments go beside it (`hls_segment_pattern`).
    `segment_from`: this encodes a piece of a split hls output that starts that many seconds into
    it, so its key frames go where the output's segments will start."""
    p.container  # noqa: B018 - InvalidInputError now for a format we cannot write
    start, length = p.TimeInterval.Start, p.TimeInterval.Duration
    if start and source_duration is not None and start >= source_duration:
        # ffmpeg would "succeed" with an output that has no streams at all
        raise InvalidInputError(
            f"TimeInterval Start {_num(start)} s is past the end of the input ({_num(source_duration)} s)"
        )

    args = ["-ss", _num(start)] if start else []  # before -i: a fast, accurate input seek
    args += input_args(src)
    video, audio = p.video_codec, p.audio_codec
    if video and overlay:
        args += [*overlay.inputs, "-filter_complex", overlay.graph, "-map", "[vout]"]
    elif video:
        args += ["-map", FIRST_VIDEO, "-vf", video_filter(p)]
    args += ["-map", FIRST_AUDIO] if audio else []
    args += _video_args(p, video, segment_from) if video else ["-vn"]
    args += _audio_args(p, audio) if audio else ["-an"]
    if length:
        args += ["-t", _num(length)]
    return [*args, *muxer_args(p, dst), dst]


def video_filter(p: TranscodeParams) -> str:
    """The output picture's filters, from one input to one unlabelled output (so they also begin a
    -filter_complex and may be followed by more filters): the frame rate (the fps filter, unlike -r,
    ends the video where the input's ends), the size, then each mosaic."""
    v = p.Video
    rate = f"fps={_num(v.Fps)}" if v.Fps else None
    size = scale_filter(v.Width, v.Height, p.TransConfig.AdjDarMethod) or EVEN_SIZE
    graph = ",".join(f for f in (rate, size) if f)
    for i, region in enumerate(p.Mosaic):
        graph += _mosaic(region, i)
    return graph


def _mosaic(region: MosaicRegion, i: int) -> str:
    """Blur one rectangle: the picture split, the rectangle cropped and box-blurred (radius a quarter of
    its smaller side), laid back where it was, over its time range only."""
    def length(value: str, side: str) -> str:
        match = LENGTH.fullmatch(value)
        assert match is not None  # checked by the model
        return f"{side}*{float(match['number']) / 100:g}" if match["unit"] == "%" else match["number"]

    w, h = f"trunc({length(region.Width, 'iw')}/2)*2", f"trunc({length(region.Height, 'ih')}/2)*2"
    right, bottom = region.CoordinateOrigin.endswith("Right"), region.CoordinateOrigin.startswith("Bottom")
    x = f"iw-ow-{length(region.XPos, 'iw')}" if right else length(region.XPos, "iw")
    y = f"ih-oh-{length(region.YPos, 'ih')}" if bottom else length(region.YPos, "ih")
    at_x = f"W-w-{length(region.XPos, 'W')}" if right else length(region.XPos, "W")
    at_y = f"H-h-{length(region.YPos, 'H')}" if bottom else length(region.YPos, "H")
    start, end = region.StartTime, region.EndTime
    when = (f"between(t\\,{_num(start or 0)}\\,{_num(end)})" if end
            else f"gte(t\\,{_num(start)})" if start else None)
    blur = "boxblur=luma_radius=min(w\\,h)/4:luma_power=3:chroma_radius=min(cw\\,ch)/4:chroma_power=3"
    return (f",split[mosaic{i}][region{i}];[region{i}]crop={w}:{h}:{x}:{y},{blur}[blurred{i}];"
            f"[mosaic{i}][blurred{i}]overlay={at_x}:{at_y}" + (f":enable={when}" if when else ""))


def muxer_args(p: TranscodeParams, dst: str) -> list[str]:
    container = p.container
    args = ["-f", container.muxer]
    if container.muxer == "mp4":
        args += ["-movflags", "+faststart"]  # index first, so players can start before the end
    elif container.muxer == "hls":
        args += _hls_args(p.Video.HlsTsTime, dst)
    return args


def hls_segment_pattern(playlist: str) -> str:
    """Where an hls output's segments go: beside the playlist, "<stem>-<n>.ts" numbered from 0."""
    return os.path.splitext(playlist)[0] + "-%d.ts"


def _hls_args(seconds: float, playlist: str) -> list[str]:
    # vod: the whole list, and an end tag; hls_list_size 0 keeps every segment in it
    return ["-hls_time", _num(seconds), "-hls_playlist_type", "vod", "-hls_list_size", "0",
            "-hls_segment_filename", hls_segment_pattern(playlist)]


def key_frame_grid(seconds: float, offset: float = 0.0) -> str:
    """A key frame at every multiple of `seconds` of the output's clock, for a stream that starts
    `offset` seconds into it (a piece of a split hls output): an hls segment ends at the first key
    frame after its length, so these make every segment that long, pieces joined or not."""
    if not offset:
        return f"expr:gte(t,n_forced*{_num(seconds)})"
    before = math.floor(offset / seconds + 1e-9)  # grid points before the piece's first frame (forced anyway)
    return f"expr:gte(t+{_num(offset)},(n_forced+{before})*{_num(seconds)})"


def _video_args(p: TranscodeParams, codec: str, segment_from: float | None = None) -> list[str]:
    """The encoder's options; the picture's filters are `video_filter`'s."""
    v = p.Video
    encoder = VIDEO_ENCODERS[codec]
    args = ["-c:v", encoder, *_rate_control(codec, v.Crf, v.Bitrate)]
    if v.Gop:
        args += ["-g", _int(v.Gop)]
    if p.container.muxer == "hls" or segment_from is not None:
        args += ["-force_key_frames", key_frame_grid(v.HlsTsTime, segment_from or 0.0)]
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


def output_size(width: int | None, height: int | None, source: tuple[int, int]) -> tuple[int, int]:
    """The picture size `scale_filter(width, height)` (or EVEN_SIZE) makes of a `source`-sized one."""
    source_w, source_h = source
    if width and height:
        return width, height
    if width:
        return width, max(2, round(source_h * width / source_w / 2) * 2)
    if height:
        return max(2, round(source_w * height / source_h / 2) * 2), height
    return source_w // 2 * 2, source_h // 2 * 2


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


# ------------------------------------------------------------------ segments (remux into pieces)
def segment_args(src: str, dst: str, p: SegmentParams, *, source: MediaInfo) -> list[str]:
    """Stream copies of the input (`source` is its probe) in pieces of about Duration s, each
    starting at a key frame, numbered from 0: `dst` is their pattern (`/tmp/piece-%d.mp4`), or
    for hls the playlist, the pieces beside it (`hls_segment_pattern`)."""
    hls = p.Format == HLS
    if not hls and not _NUMBERED.search(dst):
        raise ValueError(f"dst needs a %d placeholder: {dst!r}")
    start = p.StartTime or 0
    if start and start >= source.duration:
        raise InvalidInputError(f"Segment StartTime {_num(start)} s is past the end of the input "
                                f"({_num(source.duration)} s)")
    if p.audio_only:
        have = source.audio.CodecName if source.audio else None
        if have != p.Format:  # mp3 holds mp3 and aac holds aac; nothing is re-encoded
            raise InvalidInputError(f"Segment Format {p.Format} copies the audio as it is, and the input's "
                                    f"audio is {'missing' if have is None else have}")

    args = ["-ss", _num(start)] if start else []  # with a stream copy: from the key frame before
    args += input_args(src)
    if p.EndTime:
        args += ["-t", _num(p.EndTime - start)]
    args += ["-map", "0:a:0"] if p.audio_only else ["-map", FIRST_VIDEO, "-map", FIRST_AUDIO]
    args += ["-c", "copy"]
    if hls:  # one timeline across the pieces, as players expect of a playlist
        return [*args, "-f", "hls", *_hls_args(p.Duration, dst), dst]
    # Each piece a file of its own, starting at time 0. The muxer compares key frames with the cut
    # times before the shift that makes an audio priming delay non-negative (~25 ms): the delta
    # lets a key frame just "before" a cut time make it, instead of the next one.
    args += ["-f", "segment", "-segment_time", _num(p.Duration), "-segment_time_delta", SEGMENT_TIME_DELTA,
             "-segment_start_number", "0", "-reset_timestamps", "1", "-segment_format", p.container.muxer]
    if p.container.muxer == "mp4":
        args += ["-segment_format_options", "movflags=+faststart"]
    return [*args, dst]


def rename_segments(playlist: str, names: dict[str, str]) -> str:
    """The m3u8 text `playlist` with each segment's URI (a line that is not a tag) replaced by
    names[URI], percent-encoded; KeyError for a segment `names` does not have."""
    lines = [line if not line.strip() or line.startswith("#") else quote(names[line.strip()], safe="/")
             for line in playlist.splitlines()]
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------ concat
class ConcatPart(NamedTuple):
    """One input of a concat: its file and probe, and the stretch of it that is used (StartTime,
    EndTime; None: from its start, to its end)."""

    path: str
    info: MediaInfo
    start: float | None = None
    end: float | None = None

    @property
    def length(self) -> float:
        return min(self.end or math.inf, self.info.duration) - (self.start or 0)


def concat_args(parts: list[ConcatPart], dst: str, p: ConcatParams) -> list[str]:
    """The parts one after another, re-encoded as `p.as_transcode()` says: every picture fitted
    (aspect kept, black bars) into one size at one frame rate, the audio at one rate and layout;
    a part without audio gets silence, one without video black, for as long as it lasts. For hls,
    `dst` is the playlist, as for transcode_args."""
    t = p.as_transcode()
    video, audio = t.video_codec, t.audio_codec
    args: list[str] = []
    for number, part in enumerate(parts):
        if part.info.duration <= 0:
            raise InvalidInputError(f"concat part {number + 1} has no duration: not a playable media file")
        if part.length <= 0:
            raise InvalidInputError(f"concat part {number + 1}: StartTime {_num(part.start or 0)} s is past its "
                                    f"end ({_num(part.info.duration)} s)")
        args += ["-ss", _num(part.start)] if part.start else []
        args += ["-t", _num(part.length)] if part.end else []
        args += input_args(part.path)
    args += ["-filter_complex", _concat_graph(parts, t)]
    args += ["-map", "[v]", *_video_args(t, video)] if video else ["-vn"]
    args += ["-map", "[a]", *_audio_args(t, audio)] if audio else ["-an"]
    return [*args, *muxer_args(t, dst), dst]


def _concat_graph(parts: list[ConcatPart], t: TranscodeParams) -> str:
    """A chain per part and stream, each starting at 0 in the same format, then concat:
    "...[v0][a0][v1][a1]concat=n=2:v=1:a=1[v][a]"."""
    video, audio = t.video_codec is not None, t.audio_codec is not None
    chains = []
    if video:
        width, height = _concat_size(parts[0].info, t.Video)
        fps = _num(_concat_fps(parts[0].info, t.Video))
        fit = f"{scale_filter(width, height, 'pad')},fps={fps}"
        black = f"color=c=black:s={_int(width)}x{_int(height)}:r={fps}"
        chains += [f"[{i}:V:0]setpts=PTS-STARTPTS,{fit}[v{i}]" if part.info.video
                   else f"{black}:d={_num(part.length)},setsar=1[v{i}]" for i, part in enumerate(parts)]
    if audio:
        rate = _int(t.Audio.Samplerate or 44100)
        layout = "mono" if t.Audio.Channels == 1 else "stereo"  # more channels: -ac upmixes
        chains += [f"[{i}:a:0]asetpts=PTS-STARTPTS,aformat=sample_rates={rate}:channel_layouts={layout}[a{i}]"
                   if part.info.audio else f"anullsrc=r={rate}:cl={layout}:d={_num(part.length)}[a{i}]"
                   for i, part in enumerate(parts)]
    links = "".join(f"[v{i}]" * video + f"[a{i}]" * audio for i in range(len(parts)))
    outputs = "[v]" * video + "[a]" * audio
    return ";".join([*chains, f"{links}concat=n={len(parts)}:v={int(video)}:a={int(audio)}{outputs}"])


def _concat_size(first: MediaInfo, v: VideoParams) -> tuple[int, int]:
    """Video's Width and Height; one of them: the other from the first part's aspect; neither:
    the first part's size. Even numbers, as 4:2:0 encoders need."""
    if v.Width and v.Height:
        return v.Width, v.Height
    if not (first.width and first.height):
        raise InvalidInputError("the first part of a concat has no video, and its picture sets the output's size")
    if v.Width:
        return v.Width, _even(v.Width * first.height / first.width)
    if v.Height:
        return _even(v.Height * first.width / first.height), v.Height
    return _even(first.width), _even(first.height)


def _concat_fps(first: MediaInfo, v: VideoParams) -> float:
    """Video's Fps, else the first part's (at most 60, the most Fps may ask for), else 25."""
    if v.Fps:
        return v.Fps
    own = float(first.video.Fps or 0) if first.video else 0.0
    return min(own, 60.0) if own > 0 else 25.0


def _even(value: float) -> int:
    return max(2, 2 * round(value / 2))


# ------------------------------------------------------------------ animations
def animation_args(src: str, dst: str, p: AnimationParams, *, duration: float) -> list[str]:
    """An animated gif or webp of the source's first video stream, looping forever."""
    v = p.Video
    start, length = p.TimeInterval.Start or 0, p.TimeInterval.Duration
    if start and start >= duration:
        raise InvalidInputError(f"TimeInterval Start {_num(start)} s is past the end of the input ({_num(duration)} s)")

    args = ["-skip_frame", "nokey"] if v.frame_mode == "keyframes" else []  # decode key frames only
    # Trim on the input side: the clip is measured on the source's clock, whatever Fps does to the output.
    args += ["-ss", _num(start)] if start else []
    args += ["-t", _num(length)] if length else []
    args += [*input_args(src), "-map", "0:V:0"]
    playback = f"setpts=N/({_num(v.Fps)}*TB)" if v.Fps else None  # frame n shown at n/Fps s
    chain = ",".join(f for f in (_animation_select(v), playback, scale_filter(v.Width, v.Height)) if f)
    if p.Container.Format == "webp":
        args += ["-vf", chain] if chain else []
        args += ["-c:v", "libwebp_anim", *(["-quality", _num(v.Quality)] if v.Quality else [])]
    else:
        palette = GIF_PALETTES[p.Container.Format]
        args += ["-vf", f"{chain},{palette}" if chain else palette, "-c:v", "gif"]
    # vfr: the selected frames keep their own timestamps instead of being duplicated to a constant rate
    return [*args, "-fps_mode", "vfr", "-loop", "0", "-f", p.extension, dst]


def _animation_select(v: AnimationVideo) -> str | None:
    """At most one frame per slot of 1/AnimateFramesPerSecond or AnimateTimeIntervalOfFrame seconds:
    unlike the fps filter, a rate above the source's never duplicates frames, so the source's
    frame rate need not be known. Key frames are picked by the decoder (-skip_frame)."""
    if v.frame_mode == "rate" and v.AnimateFramesPerSecond:
        slot = f"*{_num(v.AnimateFramesPerSecond)}"
    elif v.frame_mode == "interval" and v.AnimateTimeIntervalOfFrame:
        slot = f"/{_num(v.AnimateTimeIntervalOfFrame)}"
    else:
        return None
    return f"select='isnan(prev_selected_t)+gt(floor(t{slot}),floor(prev_selected_t{slot}))'"


# ------------------------------------------------------------------ snapshots
def snapshot_times(p: SnapshotParams, duration: float, *, fps: float = 25.0) -> list[float]:
    """The instants (seconds) the snapshots will show: at most Count, never at or past `duration`.

    KeyFrame mode returns []: where key frames fall is only known once the file is decoded.
    Interval mode without TimeInterval takes consecutive frames; `fps` is the frame rate assumed
    for their instants. ExtTimeOffsetSet: its offsets in seconds, each clamped into [0, duration],
    in time order without repeats (the frame at or after `duration` is the last one)."""
    if p.ExtTimeOffsetSet:
        clamped = (min(max(_offset_seconds(item, duration), 0.0), duration) for item in p.ExtTimeOffsetSet)
        return sorted({round(t, 6) for t in clamped})
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


def _offset_seconds(item: str, duration: float) -> float:
    match = TIME_OFFSET.match(item)
    if not match:  # SnapshotParams refuses these; a hand-built model may not have been validated
        raise InvalidInputError(f"not a time offset: {item!r}")
    value = float(match["value"])
    return value * duration / 100 if match["unit"] == "%" else value


def snapshot_args(
    src: str, dst_pattern: str, p: SnapshotParams, *, duration: float, times_file: str | None = None
) -> list[str]:
    """Images numbered from 0 into `dst_pattern` (e.g. "/tmp/out/snap-%d.jpg").

    With `times_file`, ffmpeg writes the timestamp of each image there, one a line: `frame_times`
    reads them back (the only way to know where key frames fell)."""
    if not _NUMBERED.search(dst_pattern):
        raise ValueError(f"dst_pattern needs a %d placeholder: {dst_pattern!r}")
    times = snapshot_times(p, duration)
    keyframes = p.Mode == "KeyFrame" and not p.ExtTimeOffsetSet
    if not keyframes and not times:
        raise InvalidInputError(
            f"snapshot Start {_num(p.Start)} s is past the end of the input ({_num(duration)} s)"
        )

    args = ["-skip_frame", "nokey"] if keyframes else []  # decode key frames only
    seek = _input_seek(p)
    args += ["-ss", _num(seek)] if seek else []
    args += input_args(src)
    args += ["-map", "0:V:0"]
    sampling = _sampling_filter(p, duration, times)
    filters = [f for f in (sampling, scale_filter(p.Width, p.Height)) if f]
    if filters:
        args += ["-vf", ",".join(filters)]
    if keyframes or sampling:
        args += ["-fps_mode", "vfr"]  # the picked frames only, never duplicates to fill a rate
    args += ["-frames:v", _int(p.Count or MAX_SNAPSHOTS) if keyframes else _int(len(times))]
    args += ["-c:v", "mjpeg", "-q:v", "2"] if p.Format == "jpg" else ["-c:v", "png"]
    if times_file:
        # timestamps in the filter's time base (the encoder's would round them to a frame rate)
        args += ["-enc_time_base:v", "filter", "-stats_enc_pre", times_file, "-stats_enc_pre_fmt", "{t}"]
    return [*args, "-start_number", "0", "-f", "image2", dst_pattern]


def frame_times(stats: str, p: SnapshotParams) -> list[float]:
    """The source instants (seconds) of the images, from the `times_file` snapshot_args had written."""
    return [round(float(line) + _input_seek(p), 6) for line in stats.split()]


def _input_seek(p: SnapshotParams) -> float:
    """Where snapshot_args seeks to; the images' timestamps start from there."""
    return 0.0 if p.ExtTimeOffsetSet else p.Start


def _sampling_filter(p: SnapshotParams, duration: float, times: list[float]) -> str | None:
    """An fps filter emitting one frame per step; time 0 is Start, thanks to the input seek.
    For time offsets: the first frame at or after each instant."""
    if p.ExtTimeOffsetSet:
        # tpad repeats the last frame up to `duration`, so an offset past the last frame still finds one
        picks = "+".join(f"gte(t,{_num(t)})*not(gte(prev_selected_t,{_num(t)}))" for t in times)
        return f"tpad=stop_mode=clone:stop_duration={_num(duration)},select='{picks}'"
    if len(times) < 2 or p.Mode not in ("Average", "Interval") or not (p.Mode == "Average" or p.TimeInterval):
        return None  # the first frame (or consecutive ones): -frames:v says how many
    # The first frame at or after each step, as `snapshot_times` says. (An fps filter rounds to the
    # nearest frame and so gives nothing at all when the interval is over twice the input's length.)
    return f"select='gte(t+0.000001,selected_n*{_num(times[1] - times[0])})'"  # 3*0.4 is 1.2000000000000002


# ------------------------------------------------------------------ sprite sheets
def sprite_args(src_pattern: str, dst_pattern: str, config: SpriteConfig, layout: SpriteLayout) -> list[str]:
    """JPEG sheets numbered from 0 into `dst_pattern`, tiling the images that snapshot_args wrote to
    `src_pattern` (numbered from 0), `layout.per_sheet` a sheet; the last sheet's empty cells stay blank."""
    if not (_NUMBERED.search(src_pattern) and _NUMBERED.search(dst_pattern)):
        raise ValueError(f"both patterns need a %d placeholder: {src_pattern!r}, {dst_pattern!r}")
    cell = f"scale={_int(layout.cell_width)}:{_int(layout.cell_height)},setsar=1"
    tile = (f"tile={_int(layout.columns)}x{_int(layout.lines)}:padding={_int(layout.padding)}"
            f":margin={_int(layout.margin)}:color={config.Color}")  # a colour name or 0xRRGGBB, validated
    return ["-f", "image2", "-start_number", "0", *input_args(src_pattern), "-vf", f"{cell},{tile}",
            "-c:v", "mjpeg", "-q:v", "2", "-start_number", "0", "-f", "image2", dst_pattern]


def sprite_webvtt(times: list[float], duration: float, sheet_names: list[str], layout: SpriteLayout) -> str:
    """The WebVTT index players use for scrub previews: frame k (shown at times[k]) is cue k, lasting
    until the next frame's time (the last one until `duration`), pointing at its cell with a media
    fragment, "<sheet name>#xywh=x,y,w,h". `sheet_names` are URLs relative to the index's own."""
    if len(sheet_names) < layout.sheets(len(times)):
        raise ValueError(f"{len(times)} frames need {layout.sheets(len(times))} sheets, got {len(sheet_names)} names")
    cues = ["WEBVTT", ""]
    for k, (start, end) in enumerate(zip(times, [*times[1:], duration])):
        end = max(end, start + 0.001)  # a cue must end after it starts (an offset clamped to the end)
        sheet, x, y = layout.place(k)
        name = quote(sheet_names[sheet], safe="/")  # one URL a line, whatever the object key holds
        cues += [f"{_vtt_time(start)} --> {_vtt_time(end)}",
                 f"{name}#xywh={x},{y},{layout.cell_width},{layout.cell_height}", ""]
    return "\n".join(cues)


def _vtt_time(seconds: float) -> str:
    ms = round(seconds * 1000)
    hours, ms = divmod(ms, 3_600_000)
    minutes, ms = divmod(ms, 60_000)
    return f"{hours:02d}:{minutes:02d}:{ms // 1000:02d}.{ms % 1000:03d}"

