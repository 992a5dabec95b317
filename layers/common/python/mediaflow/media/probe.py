"""Media information without ffprobe: the input dump that `ffmpeg -i FILE` prints, parsed.

ffmpeg prints it before complaining that no output was given (exit code 1, expected). The dump
is meant for humans, so what it rounds is rounded here too: durations to 10 ms, bitrates to
whole kb/s, frame rates to 2 decimals. Values are strings formatted the way COS CI reports them
("834.000000" kbps, "16:9", "und"); "" means ffmpeg did not say. Per-stream durations are the
container's, which `ffmpeg -i` is the only one to give.

Longer than 400 lines: one parser per kind of line in the dump (format, video, audio, subtitle,
chapters), each meaningful only beside the others.
"""

import os
import re
from fractions import Fraction

from pydantic import BaseModel, ConfigDict, Field

from ..exceptions import MediaError
from .ffmpeg import error_summary, execute, ffmpeg_path, input_args, log_lines


class Info(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class FormatInfo(Info):
    Bitrate: str = ""  # kbps
    Duration: str = ""  # seconds
    FormatLongName: str = ""
    FormatName: str = ""
    NumProgram: str = "0"
    NumStream: str = "0"
    Size: str = "0"  # bytes
    StartTime: str = ""


class VideoStream(Info):
    Index: str
    CodecName: str = ""
    CodecTagString: str = ""
    CodecTag: str = ""
    Profile: str = ""
    Width: str = ""
    Height: str = ""
    Sar: str = ""
    Dar: str = ""
    PixFormat: str = ""
    FieldOrder: str = ""
    ColorRange: str = ""
    Fps: str = ""  # "25.000000"
    AvgFps: str = ""  # "25/1", "30000/1001"
    Timebase: str = ""
    Bitrate: str = ""
    Duration: str = ""
    StartTime: str = ""
    Language: str = ""
    Rotation: str = "0.000000"


class AudioStream(Info):
    Index: str
    CodecName: str = ""
    CodecTagString: str = ""
    CodecTag: str = ""
    Profile: str = ""
    SampleRate: str = ""
    Channel: str = ""
    ChannelLayout: str = ""
    SampleFmt: str = ""
    Bitrate: str = ""
    Duration: str = ""
    StartTime: str = ""
    Language: str = ""


class SubtitleStream(Info):
    Index: str
    CodecName: str = ""
    Language: str = ""


class StreamInfo(Info):
    Video: list[VideoStream] = Field(default_factory=list)  # attached pictures (cover art) left out
    Audio: list[AudioStream] = Field(default_factory=list)
    Subtitle: list[SubtitleStream] = Field(default_factory=list)


class MediaInfo(Info):
    Format: FormatInfo
    Stream: StreamInfo

    @property
    def duration(self) -> float:
        """Seconds; 0.0 when the container does not say (a still image, a raw stream)."""
        return float(self.Format.Duration or 0)

    @property
    def video(self) -> VideoStream | None:
        return self.Stream.Video[0] if self.Stream.Video else None

    @property
    def audio(self) -> AudioStream | None:
        return self.Stream.Audio[0] if self.Stream.Audio else None

    @property
    def width(self) -> int | None:
        return int(self.video.Width) if self.video and self.video.Width else None

    @property
    def height(self) -> int | None:
        return int(self.video.Height) if self.video and self.video.Height else None


def probe(path: str, *, timeout: float = 30, name: str | None = None) -> MediaInfo:
    """Describe the media file at `path`; MediaError if ffmpeg cannot read it. Messages call the
    file `name`, its own name by default."""
    name = name or os.path.basename(path)
    try:
        size = os.path.getsize(path)
    except OSError as exc:
        raise MediaError(f"cannot read {name}: {exc.strerror}", code="InternalError") from exc
    return _probe(input_args(path), size=size, name=name, timeout=timeout)


def _probe(args: list[str], *, size: int, name: str, timeout: float) -> MediaInfo:
    if size == 0:
        raise MediaError(f"{name} is not a media file ffmpeg can read: the file is empty")
    cmd = [ffmpeg_path(), "-hide_banner", "-nostdin", "-loglevel", "level+info", *args]
    _, stderr = execute(cmd, timeout=timeout)
    try:
        return parse_dump(stderr, size=size)
    except ValueError as exc:
        raise MediaError(f"{name} is not a media file ffmpeg can read: {exc}") from None


# ------------------------------------------------------------------ inputs from outside
# Text that ffmpeg would follow to other files or hosts, by its first bytes (after a BOM or blanks).
_REFERRING_TEXT = (
    (b"#EXTM3U", "an HLS playlist"),
    (b"ffconcat", "an ffconcat list"),
    (b"<", "an XML document (a DASH or IMF manifest, for instance)"),  # no media container starts with "<"
    (b"v=0", "an SDP session description"),
)
# Demuxers picked by the file's extension alone, whose scripts can open anything.
_SCRIPT_EXTENSIONS = {".avs": "an AviSynth script", ".vpy": "a VapourSynth script"}
# Demuxers that read other files or streams than the one they are given.
_REFERRING_FORMATS = {"hls", "applehttp", "concat", "dash", "imf", "sdp", "rtp", "rtsp", "sap", "avisynth",
                      "vapoursynth", "webm_dash_manifest"}
SNIFF_BYTES = 64
# What ffmpeg may open to read an object by a (presigned) URL: the URL's own protocols, nothing else.
_URL_PROTOCOLS = "http,https,tcp,tls"


def probe_input(path: str, *, timeout: float = 30) -> MediaInfo:
    """`probe` for a file the service did not produce (an upload, an imported URL). Refuses, with a
    MediaError, an empty file and anything that names other files or hosts (a playlist, a list, a
    manifest, a script), before ffmpeg opens it and again by the format ffmpeg found."""
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as handle:
            head = handle.read(SNIFF_BYTES)
    except OSError as exc:
        raise MediaError(f"cannot read the input: {exc.strerror}", code="InternalError") from exc
    _refuse_referring(head, size, path)
    return _refuse_referring_format(probe(path, timeout=timeout, name="the input"))  # the local copy's name means nothing


def probe_url(url: str, *, size: int, head: bytes, name: str, timeout: float = 30) -> MediaInfo:
    """`probe_input` for an object read where it is, by a presigned URL: ffmpeg reads only what it needs
    (the header, an index at the end), not the whole file. `head` is the object's first SNIFF_BYTES and
    `name` its key (for the extension ffmpeg would pick a demuxer by)."""
    _refuse_referring(head, size, name)
    return _refuse_referring_format(_probe(["-protocol_whitelist", _URL_PROTOCOLS, "-i", url], size=size,
                                           name="the input", timeout=timeout))


def _refuse_referring(head: bytes, size: int, name: str) -> None:
    if size == 0:
        raise MediaError("the input is empty (0 bytes)")
    start = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    kind = next((kind for prefix, kind in _REFERRING_TEXT if start.startswith(prefix)), None)
    kind = kind or _SCRIPT_EXTENSIONS.get(os.path.splitext(name)[1].lower())
    if kind:
        raise MediaError(f"the input is {kind}, which refers to other files: only a media file can be an input")


def _refuse_referring_format(info: MediaInfo) -> MediaInfo:
    formats = set(info.Format.FormatName.split(","))
    if found := sorted(formats & _REFERRING_FORMATS):
        raise MediaError(f"the input is read by ffmpeg's {found[0]} demuxer, which reads other files: "
                         "only a media file can be an input")
    return info


# ------------------------------------------------------------------ parsing the dump
_INPUT = re.compile(r"^Input #0, (?P<formats>.+?), from ")
# Section lines are indented by exactly two spaces; metadata entries by four or more.
_DURATION = re.compile(r"^  Duration: (?P<duration>N/A|\d+:\d\d:\d\d(?:\.\d+)?)(?P<rest>.*)$")
_START = re.compile(r"start: (?P<start>-?\d+(?:\.\d+)?)")
_KBPS = re.compile(r"(?P<kbps>\d+(?:\.\d+)?) kb/s")
_PROGRAM = re.compile(r"^  Program \d+")
_STREAM = re.compile(
    r"^  Stream #0:(?P<index>\d+)(?:\[0x[0-9a-fA-F]+\])?(?:\((?P<lang>[^)]*)\))?"
    r": (?P<kind>\w+): (?P<body>.*)$"
)
_ROTATION = re.compile(r"^ {4,}(?:Display Matrix|displaymatrix): rotation of (?P<degrees>-?\d+(?:\.\d+)?) degrees")
_CRAFTED = "its metadata imitates ffmpeg's own output"
_DISPOSITIONS = re.compile(r"(?:\s+\((?P<name>[a-z ]+)\))+$")
_SIZE = re.compile(r"^(?P<w>\d+)x(?P<h>\d+)(?: \[SAR (?P<sar>\S+) DAR (?P<dar>\S+)\])?")
_SAR_DAR = re.compile(r"^SAR (?P<sar>\S+) DAR (?P<dar>\S+)$")
_RATE = re.compile(r"^(?P<value>\d+(?:\.\d+)?)(?P<k>k?) (?P<unit>fps|tbr|tbn|tbc)$")
_STREAM_START = re.compile(r"^start (?P<start>-?\d+(?:\.\d+)?)$")
_HZ = re.compile(r"^(?P<hz>\d+) Hz$")
_FIELD_ORDERS = ("progressive", "top first", "bottom first", "top coded first (swapped)",
                 "bottom coded first (swapped)")

# ffmpeg -i prints only short names; the long ones of the usual demuxers (from `ffmpeg -demuxers`).
_LONG_NAMES = {
    "mov,mp4,m4a,3gp,3g2,mj2": "QuickTime / MOV",
    "matroska,webm": "Matroska / WebM",
    "mpegts": "MPEG-TS (MPEG-2 Transport Stream)",
    "mpeg": "MPEG-PS (MPEG-2 Program Stream)",
    "flv": "FLV (Flash Video)",
    "avi": "AVI (Audio Video Interleaved)",
    "asf": "ASF (Advanced / Active Streaming Format)",
    "mxf": "MXF (Material eXchange Format)",
    "hls": "Apple HTTP Live Streaming",
    "mp3": "MP2/3 (MPEG audio layer 2/3)",
    "aac": "raw ADTS AAC (Advanced Audio Coding)",
    "flac": "raw FLAC",
    "wav": "WAV / WAVE (Waveform Audio)",
    "ogg": "Ogg",
    "h264": "raw H.264 video",
    "hevc": "raw HEVC video",
    "gif": "CompuServe Graphics Interchange Format (GIF)",
}
# Demuxers that turn any text file into "video" (ANSI art); a text upload is not media.
_TEXT_ART = {"tty", "bin", "xbin", "adf", "idf"}
_CHANNELS = {"mono": 1, "stereo": 2, "downmix": 2, "binaural": 2, "quad": 4, "hexagonal": 6,
             "octagonal": 8, "cube": 8, "hexadecagonal": 16}


def parse_dump(stderr: str, *, size: int = 0) -> MediaInfo:
    """MediaInfo from the stderr of `ffmpeg -loglevel level+info -i FILE`; ValueError saying why not.

    The dump's layout is fixed: Input, global metadata, Duration, programs, then each stream
    followed by its metadata and side data. Metadata keys are printed raw, newlines included,
    so a crafted file can add lines that look like ffmpeg's; those that break the layout (a
    stream before the Duration line, a second Duration, a repeated stream index) are refused."""
    lines = [text for level, text in log_lines(stderr) if level == "info"]
    first = next((i for i, line in enumerate(lines) if _INPUT.match(line)), None)
    if first is None:
        raise ValueError(error_summary(stderr) or "ffmpeg recognised no input format")
    formats = _INPUT.match(lines[first])["formats"]  # type: ignore[index]
    if formats in _TEXT_ART:
        raise ValueError(f"it is text, which ffmpeg's {formats} demuxer would draw as video")
    fmt = FormatInfo(Size=str(size), FormatName=formats, FormatLongName=_LONG_NAMES.get(formats, ""))
    streams: list[VideoStream | AudioStream | SubtitleStream | None] = []
    indices: set[str] = set()
    seen_duration, programs = False, 0
    for line in lines[first + 1:]:
        if line.startswith(("Output #", "Stream mapping:")):
            break  # output streams are numbered #0:N too
        if match := _DURATION.match(line):
            if seen_duration:
                raise ValueError(_CRAFTED)
            seen_duration = True
            _fill_format(fmt, match["duration"], match["rest"])
        elif (program := _PROGRAM.match(line)) or (match := _STREAM.match(line)):
            if not seen_duration:
                raise ValueError(_CRAFTED)
            if program:
                programs += 1
                continue
            if match["index"] in indices:
                raise ValueError(_CRAFTED)
            indices.add(match["index"])
            streams.append(_parse_stream(match, fmt))
        elif (match := _ROTATION.match(line)) and streams and isinstance(streams[-1], VideoStream):
            streams[-1].Rotation = _decimal(float(match["degrees"]))
    if not seen_duration:
        raise ValueError("ffmpeg printed no duration")
    video = [s for s in streams if isinstance(s, VideoStream)]
    audio = [s for s in streams if isinstance(s, AudioStream)]
    if not video and not audio:
        raise ValueError("it has no audio or video stream")
    fmt.NumProgram, fmt.NumStream = str(programs), str(len(streams))
    subtitles = [s for s in streams if isinstance(s, SubtitleStream)]
    return MediaInfo(Format=fmt, Stream=StreamInfo(Video=video, Audio=audio, Subtitle=subtitles))


def _fill_format(fmt: FormatInfo, duration: str, rest: str) -> None:
    if duration != "N/A":
        hours, minutes, seconds = duration.split(":")
        fmt.Duration = _decimal(int(hours) * 3600 + int(minutes) * 60 + float(seconds))
    if match := _START.search(rest):
        fmt.StartTime = _decimal(float(match["start"]))
    if match := _KBPS.search(rest):
        fmt.Bitrate = _decimal(float(match["kbps"]))


def _parse_stream(match: re.Match[str], fmt: FormatInfo) -> VideoStream | AudioStream | SubtitleStream | None:
    fields = _split_top_level(match["body"])
    dispositions = _strip_dispositions(fields)
    codec = _parse_codec(fields[0])
    common = {
        "Index": match["index"],
        "CodecName": codec["name"],
        "Language": match["lang"] or "",
    }
    kind = match["kind"]
    if kind == "Video" and "attached pic" not in dispositions:
        return _video(common, codec, fields[1:], fmt)
    if kind == "Audio":
        return _audio(common, codec, fields[1:], fmt)
    if kind == "Subtitle":
        return SubtitleStream(**common)
    return None  # data streams, attachments, cover art: counted, not described


def _video(common: dict[str, str], codec: dict[str, str], fields: list[str], fmt: FormatInfo) -> VideoStream:
    stream = VideoStream(
        **common, Profile=codec["profile"], CodecTagString=codec["tag"], CodecTag=codec["tag_id"],
        Duration=fmt.Duration, StartTime=fmt.StartTime,
    )
    rates: dict[str, float] = {}
    for position, field in enumerate(fields):
        if match := _SIZE.match(field):
            stream.Width, stream.Height = match["w"], match["h"]
            stream.Sar, stream.Dar = match["sar"] or "", match["dar"] or ""
        elif match := _SAR_DAR.match(field):
            stream.Sar, stream.Dar = match["sar"], match["dar"]
        elif match := _RATE.match(field):
            rates[match["unit"]] = float(match["value"]) * (1000 if match["k"] else 1)
        elif match := _KBPS.fullmatch(field):
            stream.Bitrate = _decimal(float(match["kbps"]))
        elif match := _STREAM_START.match(field):
            stream.StartTime = _decimal(float(match["start"]))
        elif position == 0:  # the pixel format comes right after the codec
            _fill_pixel_format(stream, field)
    fps = rates.get("fps") or rates.get("tbr")
    if fps:
        stream.Fps, stream.AvgFps = _decimal(fps), _frame_rate_fraction(fps)
    if tbn := rates.get("tbn"):
        stream.Timebase = f"1/{round(tbn)}"
    return stream


def _audio(common: dict[str, str], codec: dict[str, str], fields: list[str], fmt: FormatInfo) -> AudioStream:
    stream = AudioStream(
        **common, Profile=codec["profile"], CodecTagString=codec["tag"], CodecTag=codec["tag_id"],
        Duration=fmt.Duration, StartTime=fmt.StartTime,
    )
    after_rate = -1
    for position, field in enumerate(fields):
        if match := _HZ.match(field):
            stream.SampleRate, after_rate = match["hz"], position + 1
        elif match := _KBPS.fullmatch(field):
            stream.Bitrate = _decimal(float(match["kbps"]))
        elif match := _STREAM_START.match(field):
            stream.StartTime = _decimal(float(match["start"]))
        elif position == after_rate:  # "<rate> Hz, <layout>, <sample format>" in that order
            stream.Channel = _channel_count(field)
            stream.ChannelLayout = "" if field.endswith(" channels") else field
        elif position == after_rate + 1:
            stream.SampleFmt = field.split(" ")[0]  # "s32 (24 bit)" -> "s32"
    return stream


def _split_top_level(body: str) -> list[str]:
    """Split on ", " outside parentheses and brackets: "yuv420p(tv, bt709)" is one field."""
    fields, depth, start = [], 0, 0
    for i, char in enumerate(body):
        if char in "([":
            depth += 1
        elif char in ")]":
            depth = max(0, depth - 1)
        elif depth == 0 and body.startswith(", ", i):
            fields.append(body[start:i])
            start = i + 2
    fields.append(body[start:])
    return [field.strip() for field in fields]


def _strip_dispositions(fields: list[str]) -> set[str]:
    """Remove "(default) (attached pic)" from the last field and return the names."""
    if len(fields) < 2 or not (match := _DISPOSITIONS.search(fields[-1])):
        return set()
    fields[-1] = fields[-1][: match.start()]
    return set(re.findall(r"\(([a-z ]+)\)", match.group(0)))


def _parse_codec(text: str) -> dict[str, str]:
    """'h264 (High) (avc1 / 0x31637661)', 'mp3 (mp3float)', 'aac (LC)': name, profile, tag.

    A lower-case identifier in parentheses is the decoder's name, not a profile."""
    name, _, rest = text.partition(" ")
    codec = {"name": name, "profile": "", "tag": "", "tag_id": ""}
    for group in re.findall(r"\(([^()]*)\)", rest):
        if " / 0x" in group:
            codec["tag"], _, tag_id = group.partition(" / ")
            codec["tag_id"] = tag_id.lower()
        elif not re.fullmatch(r"[a-z0-9_]+", group):
            codec["profile"] = group
    return codec


def _fill_pixel_format(stream: VideoStream, field: str) -> None:
    """'yuv420p(tv, bt709, progressive)': pixel format, then range, colours, field order."""
    pix_fmt, _, details = field.partition("(")
    stream.PixFormat = pix_fmt.strip()
    details = details[:-1] if details.endswith(")") else details  # "top coded first (swapped)" keeps its own
    for item in (part.strip() for part in details.split(",")):
        if item in ("tv", "pc"):
            stream.ColorRange = item
        elif item in _FIELD_ORDERS:
            stream.FieldOrder = item


def _channel_count(layout: str) -> str:
    """'stereo' -> 2, '5.1(side)' -> 6, '7.1.4' -> 12, '3 channels' -> 3; '' if unknown."""
    if match := re.fullmatch(r"(\d+) channels", layout):
        return match.group(1)
    if layout in _CHANNELS:
        return str(_CHANNELS[layout])
    if match := re.fullmatch(r"(\d+(?:\.\d+)+)(?:\([\w-]+\))?", layout):
        return str(sum(int(part) for part in match.group(1).split(".")))
    return ""


def _frame_rate_fraction(fps: float) -> str:
    """25 -> '25/1'; 29.97 (ffmpeg's rounding of 30000/1001) -> '30000/1001'."""
    ntsc = round(fps * 1.001)
    if fps != int(fps) and abs(ntsc * 1000 / 1001 - fps) < 0.005:
        return f"{ntsc * 1000}/1001"
    fraction = Fraction(fps).limit_denominator(1000)
    return f"{fraction.numerator}/{fraction.denominator}"


def _decimal(value: float) -> str:
    return f"{value:.6f}"
