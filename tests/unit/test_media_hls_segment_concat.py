"""HLS outputs, Segment (remux into pieces), Concat and MediaInfo: their parameters and argument
lists, and their task units run with real ffmpeg on small clips, S3 replaced by a folder."""

import posixpath
import re
import shutil
from pathlib import Path

import mediaflow.pipeline.units
import pytest
from mediaflow.exceptions import DownloadError, InvalidInputError
from mediaflow.media import (
    AudioStream,
    ConcatParams,
    ConcatPart,
    FormatInfo,
    MediaInfo,
    SegmentParams,
    StreamInfo,
    TranscodeParams,
    VideoStream,
    concat_args,
    concat_order,
    input_args,
    probe,
    rename_segments,
    run_ffmpeg,
    segment_args,
)
from mediaflow.media.params import MAX_FRAGMENTS
from mediaflow.models import ObjectRef, OutputObject, UnitSpec
from mediaflow.pipeline.units import run_unit
from pydantic import ValidationError

pytestmark = pytest.mark.unit

CLIP_SECONDS = 3.0  # `clip`: a key frame every 0.5 s
SQUARE_SECONDS = 1.0
FRAME = 1 / 24  # `clip`'s frame, which a concat keeps
IN, OUT = "media-in", "media-out"


@pytest.fixture(scope="module")
def clip(make_media, tmp_path_factory) -> Path:
    """3 s of 320x180 24 fps test pattern, a key frame every 12 frames (H.264), and a tone (AAC)."""
    return make_media(tmp_path_factory.mktemp("clips") / "clip.mp4",
                      "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=24",
                      "-f", "lavfi", "-i", "sine=sample_rate=44100", "-t", str(CLIP_SECONDS),
                      "-c:v", "libx264", "-preset", "ultrafast", "-g", "12", "-sc_threshold", "0", "-c:a", "aac")


@pytest.fixture(scope="module")
def square(make_media, tmp_path_factory) -> Path:
    """1 s of 160x160 30 fps test pattern, no audio."""
    return make_media(tmp_path_factory.mktemp("clips") / "square.mp4",
                      "-f", "lavfi", "-i", "testsrc2=size=160x160:rate=30", "-t", str(SQUARE_SECONDS),
                      "-c:v", "libx264", "-preset", "ultrafast")


class FakeS3:
    """Buckets as folders (root/bucket/key), so that an uploaded playlist can be played from them."""

    def __init__(self, root: Path):
        self.root, self.types = root, {}

    def path(self, bucket: str, key: str) -> Path:
        return self.root / bucket / key

    def put(self, bucket: str, key: str, source: Path) -> None:
        self.path(bucket, key).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, self.path(bucket, key))

    def download(self, bucket: str, key: str, workdir: Path, name: str = "input") -> Path:
        if not self.path(bucket, key).is_file():
            raise DownloadError(f"cannot read s3://{bucket}/{key}: NoSuchKey")
        target = workdir / (name + posixpath.splitext(key)[1].lower())
        shutil.copy(self.path(bucket, key), target)
        return target

    def upload(self, path: Path, bucket: str, key: str, content_type: str | None = None) -> OutputObject:
        self.put(bucket, key, path)
        self.types[key] = content_type
        return OutputObject(bucket=bucket, key=key, size=path.stat().st_size, md5="-")

    def delete(self, objects: list[OutputObject]) -> None:
        for obj in objects:
            self.path(obj.bucket, obj.key).unlink()

    def keys(self, bucket: str = OUT) -> list[str]:
        folder = self.root / bucket
        return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


@pytest.fixture
def s3(tmp_path, monkeypatch, clip, square) -> FakeS3:
    store = FakeS3(tmp_path / "s3")
    for name in ("download", "upload", "delete"):
        monkeypatch.setattr(mediaflow.pipeline.units.storage, name, getattr(store, name))
    monkeypatch.setattr(mediaflow.pipeline.units, "update_job", lambda job_id, change: None)  # no job record here
    store.put(IN, "in/clip.mp4", clip)
    store.put(IN, "in/square.mp4", square)
    return store


def unit(kind: str, key: str, params: dict, parts: list[ObjectRef] | None = None) -> UnitSpec:
    return UnitSpec(execution_id="i1", job_id="j1", kind=kind, input=ObjectRef(bucket=IN, key="in/clip.mp4"),
                    output=ObjectRef(bucket=OUT, key=key), params=params, duration=CLIP_SECONDS, parts=parts or [])


def segment_lines(playlist: Path) -> list[str]:
    return [line for line in playlist.read_text().splitlines() if line and not line.startswith("#")]


def plays(playlist: Path) -> float:
    """Decode the whole playlist, as uploaded, and return its duration."""
    run_ffmpeg([*input_args(str(playlist)), "-f", "null", "-"], timeout=60)
    return probe(str(playlist)).duration


def media_info(duration: float = CLIP_SECONDS, audio: str | None = "aac", video: bool = True) -> MediaInfo:
    return MediaInfo(Format=FormatInfo(Duration=f"{duration:.6f}"), Stream=StreamInfo(
        Video=[VideoStream(Index="0", CodecName="h264", Width="320", Height="180", Fps="24.000000")] if video else [],
        Audio=[AudioStream(Index="1", CodecName=audio)] if audio else []))


def volume(path: Path, which: str, *trim: str) -> float:
    """volumedetect's max or mean level (dB) of the stretch of `path` that `trim` (input options) selects."""
    log = run_ffmpeg([*trim, *input_args(str(path)), "-map", "0:a", "-af", "volumedetect", "-f", "null", "-"],
                     timeout=30)
    return float(re.findall(rf"{which}_volume: (\S+) dB", log)[-1])


def has_pair(args: list[str], flag: str, value: str) -> bool:
    return any(a == flag and b == value for a, b in zip(args, args[1:]))


# ------------------------------------------------------------------ parameters
def test_concat_order_is_start_fragments_the_input_then_end_fragments():
    p = ConcatParams.model_validate({"ConcatFragment": [
        {"Url": "e1.mp4", "Mode": "End"}, {"Url": "s1.mp4", "Mode": "start"}, {"Url": "e2.mp4"},
        {"Url": "s2.mp4", "Mode": "Start"}]})
    assert [f and f.Url for f in concat_order(p)] == ["s1.mp4", "s2.mp4", None, "e1.mp4", "e2.mp4"]


def test_concat_params_from_xmltodict_and_back():
    fragment = {"Url": "a.mp4", "Mode": "Start", "StartTime": "1", "EndTime": ""}  # one element: not a list
    p = ConcatParams.model_validate({"ConcatFragment": fragment, "Container": {"Format": "webm"}})
    assert [(f.Url, f.StartTime, f.EndTime) for f in p.ConcatFragment] == [("a.mp4", 1.0, None)]
    assert (p.Video.Codec, p.Audio.Codec, p.extension) == ("VP8", "opus", "webm")  # the container's
    assert ConcatParams.model_validate(p.model_dump(mode="json")) == p


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"Container": {"Format": "gif"}}, "unsupported container"),
        ({"Container": {"Format": "webm"}, "Video": {"Codec": "H.264"}}, "cannot be stored in webm"),
        ({"ConcatFragment": [{"Url": "a", "StartTime": "2", "EndTime": "1"}]}, "EndTime must be after StartTime"),
        ({"ConcatFragment": [{"Url": "a", "Mode": "Middle"}]}, "fragment Mode"),
        ({"ConcatFragment": [{"Url": "a"}] * (MAX_FRAGMENTS + 1)}, "at most"),
        ({"ConcatFragment": []}, "at least"),
    ],
)
def test_invalid_concat_params(fields, message):
    with pytest.raises(ValidationError, match=message):
        ConcatParams.model_validate({"ConcatFragment": [{"Url": "a.mp4"}], **fields})


@pytest.mark.parametrize("fmt, extension, audio_only",
                         [("HLS", "ts", False), ("mkv", "mkv", False), ("aac", "aac", True)])
def test_segment_params(fmt, extension, audio_only):
    p = SegmentParams.model_validate({"Format": fmt, "Duration": "5"})
    assert (p.extension, p.audio_only, p.Duration) == (extension, audio_only, 5.0)


@pytest.mark.parametrize("fields", [{"Format": "webm"}, {"Duration": "0"}, {"Duration": "3601"},
                                    {"StartTime": "5", "EndTime": "5"}, {"StartTime": "-1"}])
def test_invalid_segment_params(fields):
    with pytest.raises(ValidationError):
        SegmentParams.model_validate(fields)


# ------------------------------------------------------------------ argument lists
def test_segment_args_copy_into_pieces_that_start_at_zero():
    p = SegmentParams.model_validate({"Format": "mp4", "Duration": "4", "StartTime": "1.5", "EndTime": "3.5"})
    args = segment_args("in.mkv", "/w/piece-%d.mp4", p, source=media_info(10))
    i = args.index("-i")
    assert args[i - 4:i + 2] == ["-ss", "1.5", "-protocol_whitelist", "file", "-i", "in.mkv"]
    assert args.index("-t") > i and has_pair(args, "-t", "2")
    assert has_pair(args, "-c", "copy") and has_pair(args, "-map", "0:V:0?") and has_pair(args, "-map", "0:a:0?")
    assert has_pair(args, "-f", "segment") and has_pair(args, "-segment_time", "4")
    assert has_pair(args, "-reset_timestamps", "1") and has_pair(args, "-segment_format", "mp4")
    assert has_pair(args, "-segment_format_options", "movflags=+faststart") and args[-1] == "/w/piece-%d.mp4"


def test_segment_args_for_hls_and_audio():
    hls = segment_args("in", "/w/index.m3u8", SegmentParams(Format="hls", Duration=6), source=media_info())
    assert has_pair(hls, "-f", "hls") and has_pair(hls, "-hls_time", "6")
    assert has_pair(hls, "-hls_segment_filename", "/w/index-%d.ts") and "-reset_timestamps" not in hls
    audio = segment_args("in", "/w/p-%d.aac", SegmentParams(Format="aac"), source=media_info())
    assert has_pair(audio, "-map", "0:a:0") and "0:V:0?" not in audio and has_pair(audio, "-segment_format", "adts")


@pytest.mark.parametrize(
    "fields, source, error, message",
    [
        ({"StartTime": "3"}, media_info(3), InvalidInputError, "past the end"),
        ({"Format": "mp3"}, media_info(), InvalidInputError, "the input's audio is aac"),
        ({"Format": "aac"}, media_info(audio=None), InvalidInputError, "audio is missing"),
    ],
)
def test_segment_args_refuse(fields, source, error, message):
    with pytest.raises(error, match=message):
        segment_args("in", "/w/p-%d.x", SegmentParams.model_validate(fields), source=source)
    with pytest.raises(ValueError, match="%d"):
        segment_args("in", "/w/p.mp4", SegmentParams(), source=media_info())


def concat_params(**fields) -> ConcatParams:
    return ConcatParams.model_validate({"ConcatFragment": [{"Url": "x"}], **fields})


def test_concat_args_fit_every_part_to_the_first():
    parts = [ConcatPart("a.mp4", media_info(4), start=1, end=3), ConcatPart("b.mp4", media_info(2, audio=None)),
             ConcatPart("c.m4a", media_info(1.5, video=False))]
    args = concat_args(parts, "/w/out.mp4", concat_params())
    assert args[:6] == ["-ss", "1", "-t", "2", "-protocol_whitelist", "file"]  # the first part's stretch
    assert [args[i + 1] for i, a in enumerate(args) if a == "-i"] == ["a.mp4", "b.mp4", "c.m4a"]
    graph = args[args.index("-filter_complex") + 1].split(";")
    fit = ("scale=320:180:force_original_aspect_ratio=decrease:force_divisible_by=2,"
           "pad=320:180:(ow-iw)/2:(oh-ih)/2:black,setsar=1")
    assert graph == [
        f"[0:V:0]setpts=PTS-STARTPTS,{fit},fps=24[v0]",
        f"[1:V:0]setpts=PTS-STARTPTS,{fit},fps=24[v1]",
        "color=c=black:s=320x180:r=24:d=1.5,setsar=1[v2]",  # black as long as the part
        "[0:a:0]asetpts=PTS-STARTPTS,aformat=sample_rates=44100:channel_layouts=stereo[a0]",
        "anullsrc=r=44100:cl=stereo:d=2[a1]",  # silence as long as the part
        "[2:a:0]asetpts=PTS-STARTPTS,aformat=sample_rates=44100:channel_layouts=stereo[a2]",
        "[v0][a0][v1][a1][v2][a2]concat=n=3:v=1:a=1[v][a]",
    ]
    assert has_pair(args, "-map", "[v]") and has_pair(args, "-map", "[a]") and has_pair(args, "-c:v", "libx264")
    assert "-vf" not in args and has_pair(args, "-movflags", "+faststart") and args[-1] == "/w/out.mp4"


def test_concat_args_size_rate_and_removed_streams():
    parts = [ConcatPart("a.mp4", media_info())]
    graph = concat_args(parts, "o", concat_params(Video={"Width": "640", "Fps": "30"},
                                                  Audio={"Samplerate": "48000", "Channels": "1"}))
    assert "pad=640:360" in graph[graph.index("-filter_complex") + 1] and "fps=30[v0]" in "".join(graph)
    assert "aformat=sample_rates=48000:channel_layouts=mono" in "".join(graph)
    no_video = concat_args(parts, "o", concat_params(Video={"Remove": "true"}))
    assert no_video[no_video.index("-filter_complex") + 1].endswith("[a0]concat=n=1:v=0:a=1[a]") and "-vn" in no_video
    mp3 = concat_args(parts, "o", concat_params(Container={"Format": "mp3"}))
    assert "[v0]" not in "".join(mp3) and has_pair(mp3, "-c:a", "libmp3lame") and has_pair(mp3, "-f", "mp3")


@pytest.mark.parametrize(
    "parts, message",
    [
        ([ConcatPart("a", media_info(video=False)), ConcatPart("b", media_info())],
         "first part of a concat has no video"),
        ([ConcatPart("a", media_info()), ConcatPart("b", media_info(2), start=2)],
         "part 2: StartTime 2 s is past its end"),
    ],
)
def test_concat_args_refuse(parts, message):
    with pytest.raises(InvalidInputError, match=message):
        concat_args(parts, "o", concat_params())


def test_rename_segments_rewrites_only_uris():
    playlist = "#EXTM3U\n#EXTINF:5.0,\noutput-0.ts\n#EXTINF:2.5,\noutput-1.ts\n#EXT-X-ENDLIST\n"
    renamed = rename_segments(playlist, {"output-0.ts": "my clip-0.ts", "output-1.ts": "../1/p.ts"})
    assert renamed == "#EXTM3U\n#EXTINF:5.0,\nmy%20clip-0.ts\n#EXTINF:2.5,\n../1/p.ts\n#EXT-X-ENDLIST\n"
    with pytest.raises(KeyError):
        rename_segments(playlist, {"output-0.ts": "a.ts"})


# ------------------------------------------------------------------ task units
HLS_PARAMS = TranscodeParams.model_validate(
    {"Container": {"Format": "hls"}, "Video": {"HlsTsTime": "1", "Preset": "ultrafast"}}
).model_dump(mode="json", exclude_none=True)  # as the planner hands them on


def test_hls_transcode_unit_writes_the_playlist_then_its_segments(s3):
    result = run_unit(unit("transcode", "out/v.m3u8", HLS_PARAMS))
    assert result.ok, result.message
    keys = ["out/v.m3u8", "out/v-0.ts", "out/v-1.ts", "out/v-2.ts"]
    assert [o.key for o in result.outputs] == keys and s3.keys() == sorted(keys)
    assert [s3.types[k] for k in keys[:2]] == ["application/vnd.apple.mpegurl", "video/mp2t"]
    playlist = s3.path(OUT, "out/v.m3u8")
    assert segment_lines(playlist) == ["v-0.ts", "v-1.ts", "v-2.ts"]  # relative to the playlist
    assert "#EXT-X-PLAYLIST-TYPE:VOD" in playlist.read_text() and "#EXT-X-ENDLIST" in playlist.read_text()
    for key in keys[1:]:
        info = probe(str(s3.path(OUT, key)))
        assert (info.video.CodecName, info.audio.CodecName, info.width, info.height) == ("h264", "aac", 320, 180)
        assert info.duration == pytest.approx(1, abs=0.05)  # a key frame forced at each boundary
    assert plays(playlist) == pytest.approx(CLIP_SECONDS, abs=0.05)
    assert result.media_info["Format"]["FormatName"] == "hls"
    assert float(result.media_info["Format"]["Duration"]) == pytest.approx(CLIP_SECONDS, abs=0.05)


def test_a_failed_segment_upload_leaves_nothing(s3, monkeypatch):
    upload = s3.upload

    def flaky(path, bucket, key, content_type=None):
        if key.endswith("-2.ts"):
            raise OSError("connection reset")
        return upload(path, bucket, key, content_type)

    monkeypatch.setattr(mediaflow.pipeline.units.storage, "upload", flaky)
    with pytest.raises(OSError):
        run_unit(unit("transcode", "out/v.m3u8", HLS_PARAMS))
    assert s3.keys() == []


@pytest.mark.parametrize("fmt", ["mp4", "mkv", "flv", "ts"])
def test_segment_unit_cuts_pieces_of_about_duration(s3, fmt):
    result = run_unit(unit("segment", f"seg/v-${{Number}}.{fmt}", {"Format": fmt, "Duration": "1"}))
    assert result.ok, result.message
    assert [o.key for o in result.outputs] == [f"seg/v-{i}.{fmt}" for i in range(3)] and result.media_info is None
    pieces = [probe(str(s3.path(OUT, o.key))) for o in result.outputs]
    for info in pieces:
        assert (info.video.CodecName, info.audio.CodecName, info.width) == ("h264", "aac", 320)  # copied
        assert info.duration == pytest.approx(1, abs=0.1)  # the audio may run a packet or so past the cut
        if fmt != "ts":  # MPEG-TS starts every file at 1.4 s
            assert float(info.Format.StartTime) < 0.05  # each piece from (about) 0
    assert sum(info.duration for info in pieces) == pytest.approx(CLIP_SECONDS, abs=0.15)


@pytest.mark.parametrize(
    "key, playlist, pieces, uris",
    [
        ("seg/h-${Number}.m3u8", "seg/h-index.m3u8", ["seg/h-0.ts", "seg/h-1.ts"], ["h-0.ts", "h-1.ts"]),
        ("seg/${Number}/h.ts", "seg/index/h.m3u8", ["seg/0/h.ts", "seg/1/h.ts"], ["../0/h.ts", "../1/h.ts"]),
    ],
)
def test_segment_unit_hls_clipped(s3, key, playlist, pieces, uris):
    params = {"Format": "hls", "Duration": "1", "StartTime": "0.5", "EndTime": "2.5"}
    result = run_unit(unit("segment", key, params))
    assert result.ok, result.message
    assert [o.key for o in result.outputs] == [playlist, *pieces]
    assert segment_lines(s3.path(OUT, playlist)) == uris
    for piece in pieces:
        assert probe(str(s3.path(OUT, piece))).duration == pytest.approx(1, abs=0.06)
    assert plays(s3.path(OUT, playlist)) == pytest.approx(2, abs=0.1)  # from 0.5 s to 2.5 s
    assert result.media_info["Format"]["FormatName"] == "hls"


def test_segment_unit_audio_only(s3):
    result = run_unit(unit("segment", "seg/a-${Number}.aac", {"Format": "aac", "Duration": "2"}))
    assert result.ok, result.message
    pieces = [probe(str(s3.path(OUT, o.key))) for o in result.outputs]
    assert len(pieces) == 2 and all(p.video is None and p.audio.CodecName == "aac" for p in pieces)
    assert sum(p.duration for p in pieces) == pytest.approx(CLIP_SECONDS, abs=0.1)


@pytest.mark.parametrize(
    "key, params, message",
    [
        ("seg/a-${Number}.mp3", {"Format": "mp3"}, "the input's audio is aac"),  # nothing is re-encoded
        ("seg/v.mp4", {"Format": "mp4"}, "must contain ${Number}"),
        ("seg/v-${Number}.mp4", {"StartTime": "3"}, "past the end"),
    ],
)
def test_segment_unit_refuses(s3, key, params, message):
    result = run_unit(unit("segment", key, params))
    assert not result.ok and result.code == "InvalidArgument" and message in result.message
    assert s3.keys() == []


def concat_unit(params: dict) -> UnitSpec:
    """A concat unit with its parts as the planner lists them: concat_order, the job's input for None."""
    p = ConcatParams.model_validate(params)
    parts = [ObjectRef(bucket=IN, key=f.Url if f else "in/clip.mp4") for f in concat_order(p)]
    return unit("concat", "cat/joined.mp4", p.model_dump(mode="json", exclude_none=True), parts)


def test_concat_unit_joins_the_parts(s3):
    fragments = [{"Url": "in/square.mp4", "Mode": "End"},  # 160x160, 30 fps, no audio: after the input
                 {"Url": "in/clip.mp4", "Mode": "Start", "StartTime": "0.5", "EndTime": "1.5"}]  # 1 s: first
    result = run_unit(concat_unit({"ConcatFragment": fragments, "Video": {"Preset": "ultrafast"}}))
    assert result.ok, result.message
    joined = s3.path(OUT, "cat/joined.mp4")
    info = probe(str(joined))
    assert info.duration == pytest.approx(1 + CLIP_SECONDS + SQUARE_SECONDS, abs=FRAME)
    # the first part's picture and frame rate
    assert (info.width, info.height, info.video.Fps, info.video.Sar) == (320, 180, "24.000000", "1:1")
    assert (info.audio.CodecName, info.audio.SampleRate, info.audio.Channel) == ("aac", "44100", "2")
    assert result.media_info == info.model_dump(exclude_none=True)
    # the square's second is silent, the clip's tone is not
    assert volume(joined, "max", "-ss", "4.1") < -80
    assert volume(joined, "mean", "-t", "3.9") > -40


@pytest.mark.parametrize("container, video", [("mp3", {}), ("mp4", {"Remove": "true"})])
def test_concat_unit_audio_only(s3, container, video):
    params = {"ConcatFragment": [{"Url": "in/square.mp4", "Mode": "Start"}], "Container": {"Format": container},
              "Video": video}
    result = run_unit(concat_unit(params))
    assert result.ok, result.message
    info = probe(str(s3.path(OUT, "cat/joined.mp4")))
    assert info.video is None and info.audio is not None
    assert info.duration == pytest.approx(SQUARE_SECONDS + CLIP_SECONDS, abs=0.1)


def test_concat_unit_fails_cleanly(s3):
    missing = run_unit(concat_unit({"ConcatFragment": [{"Url": "in/nothing.mp4"}]}))
    assert not missing.ok and missing.code == "ResourceDownloadFailed"
    short = run_unit(concat_unit({"ConcatFragment": [{"Url": "in/square.mp4", "StartTime": "5"}]}))
    assert not short.ok and short.code == "InvalidArgument" and "past its end" in short.message
    assert s3.keys() == []


def test_mediainfo_unit_reports_the_input_and_writes_nothing(s3, clip):
    result = run_unit(unit("mediainfo", "", {}))
    assert result.ok and result.outputs == [] and s3.keys() == []
    assert result.media_info == probe(str(clip)).model_dump(exclude_none=True)
    assert result.media_info["Stream"]["Video"][0]["Width"] == "320"
