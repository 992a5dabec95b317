"""Template parameters, ffmpeg argument lists, and real ffmpeg runs of them on small clips."""

import re
import socket
import time
from pathlib import Path

import pytest
import xmltodict
from mediaflow.exceptions import InvalidInputError, MediaError
from mediaflow.media import (
    MediaInfo,
    SnapshotParams,
    TranscodeParams,
    error_summary,
    ffmpeg_path,
    input_args,
    probe,
    run_ffmpeg,
    scale_filter,
    snapshot_args,
    snapshot_times,
    transcode_args,
    video_filter,
)
from mediaflow.media.commands import AUDIO_ENCODERS, EVEN_SIZE, VIDEO_ENCODERS
from mediaflow.media.params import AUDIO_CODECS, VIDEO_CODECS
from mediaflow.pipeline.split import cut_times
from pydantic import ValidationError

pytestmark = pytest.mark.unit

CLIP_SECONDS = 4.0  # the length of the clip_720p fixture


def tp(**sections: dict) -> TranscodeParams:
    return TranscodeParams.model_validate(sections)


def args_of(**sections: dict) -> list[str]:
    return transcode_args("in.mp4", "out", tp(**sections))


def value_after(args: list[str], flag: str) -> str:
    assert flag in args, f"{flag} missing from {args}"
    return args[args.index(flag) + 1]


def has_pair(args: list[str], flag: str, value: str) -> bool:
    return any(a == flag and b == value for a, b in zip(args, args[1:]))


# ------------------------------------------------------------------ parameters
def test_parses_xmltodict_output_with_string_leaves_and_empty_elements():
    xml = """<Transcode>
      <Container><Format>mp4</Format></Container>
      <Video><Codec>H.265</Codec><Width>640</Width><Height/><Fps>29.97</Fps><Crf>23</Crf>
             <Remove>false</Remove><Unknown>ignored</Unknown></Video>
      <Audio><Codec>Vorbis</Codec><Remove>true</Remove></Audio>
      <TimeInterval><Start>1.5</Start><Duration></Duration></TimeInterval>
      <TransConfig><AdjDarMethod>pad</AdjDarMethod></TransConfig>
    </Transcode>"""
    p = TranscodeParams.model_validate(xmltodict.parse(xml)["Transcode"])
    assert p.Video.Codec == "H.265" and p.Video.Width == 640 and p.Video.Height is None
    assert p.Video.Fps == 29.97 and p.Video.Crf == 23.0 and p.Video.Remove is False
    assert p.Audio.Codec == "vorbis" and p.Audio.Remove is True
    assert p.TimeInterval.Start == 1.5 and p.TimeInterval.Duration is None
    assert p.TransConfig.AdjDarMethod == "pad"
    assert p.extension == "mp4"


def test_defaults_when_sections_are_missing_or_empty():
    p = TranscodeParams.model_validate({"Video": None, "Audio": {"Codec": None}})
    assert (p.Container.Format, p.Video.Codec, p.Audio.Codec) == ("mp4", "H.264", "aac")
    assert p.TimeInterval.Start is None and p.TransConfig.AdjDarMethod is None
    s = SnapshotParams.model_validate({"Mode": None, "Count": ""})
    assert (s.Mode, s.Start, s.Format, s.Count) == ("Interval", 0, "jpg", None)


@pytest.mark.parametrize(
    "sections",
    [
        {"Video": {"Width": "641"}},  # odd
        {"Video": {"Height": "127"}},
        {"Video": {"Width": "4098"}},
        {"Video": {"Fps": "0"}},
        {"Video": {"Fps": "61"}},
        {"Video": {"Bitrate": "9"}},
        {"Video": {"Bitrate": "50001"}},
        {"Video": {"Crf": "0"}},
        {"Video": {"Crf": "52"}},
        {"Video": {"Fps": "nan"}},
        {"Video": {"Codec": "MPEG2"}},
        {"Video": {"HlsTsTime": "0"}},
        {"Video": {"HlsTsTime": "61"}},
        {"Container": {"Format": "hls"}, "Video": {"Codec": "VP8"}},
        {"Container": {"Format": "hls"}, "Audio": {"Codec": "opus"}},
        {"Video": {"Preset": "placebo"}},
        {"Video": {"Profile": "high; rm -rf /"}},
        {"Audio": {"Bitrate": "7"}},
        {"Audio": {"Bitrate": "1001"}},
        {"Audio": {"Samplerate": "12345"}},
        {"Audio": {"Codec": "wma"}},
        {"TimeInterval": {"Start": "-1"}},
        {"TimeInterval": {"Duration": "inf"}},
        {"TransConfig": {"AdjDarMethod": "zoom"}},
        {"Container": {"Format": "webm"}, "Video": {"Codec": "H.264"}},  # codec the container cannot hold
        {"Container": {"Format": "mp3"}, "Audio": {"Codec": "aac"}},
        {"Container": {"Format": "flac"}, "Audio": {"Remove": "true"}},  # nothing left to write
        {"Video": {"Remove": "true"}, "Audio": {"Remove": "true"}},
    ],
)
def test_invalid_transcode_values_raise_validation_error(sections):
    with pytest.raises(ValidationError):
        tp(**sections)


@pytest.mark.parametrize(
    "fields",
    [
        {"Count": "0"}, {"Count": "10001"}, {"TimeInterval": "0"}, {"TimeInterval": "3601"},
        {"Width": "333"}, {"Height": "5000"}, {"Mode": "Random"}, {"Format": "gif"},
        {"Mode": "Average"},  # Average needs Count
    ],
)
def test_invalid_snapshot_values_raise_validation_error(fields):
    with pytest.raises(ValidationError):
        SnapshotParams.model_validate(fields)


def test_odd_size_error_says_why():
    with pytest.raises(ValidationError, match="even"):
        tp(Video={"Width": "641"})


@pytest.mark.parametrize(
    "fmt, extension, muxer",
    [("mp4", "mp4", "mp4"), ("MKV", "mkv", "matroska"), ("flv", "flv", "flv"), ("ts", "ts", "mpegts"),
     ("webm", "webm", "webm"), ("mp3", "mp3", "mp3"), ("aac", "aac", "adts"), ("flac", "flac", "flac"),
     ("HLS", "m3u8", "hls")],
)
def test_container_extension_and_muxer(fmt, extension, muxer):
    p = tp(Container={"Format": fmt})
    assert p.extension == extension
    assert value_after(transcode_args("in", "out", p), "-f") == muxer


@pytest.mark.parametrize("fmt", ["gif", "mov"])
def test_unsupported_container_raises_invalid_input(fmt):
    p = tp(Container={"Format": fmt})
    with pytest.raises(InvalidInputError, match="unsupported container"):
        p.extension
    with pytest.raises(InvalidInputError):
        transcode_args("in", "out", p)


def test_container_supplies_codecs_the_template_does_not_name():
    webm = tp(Container={"Format": "webm"})
    assert (webm.video_codec, webm.audio_codec) == ("VP8", "opus")
    mp3 = tp(Container={"Format": "mp3"}, Video={"Width": "640"})
    assert (mp3.video_codec, mp3.audio_codec) == (None, "mp3")


@pytest.mark.parametrize(
    "sections",
    [{}, {"Container": {"Format": "webm"}}, {"Container": {"Format": "mp3"}},
     {"Video": {"Codec": "H.265", "Width": "640", "Crf": "20"}, "Audio": {"Remove": "true"}}],
)
def test_dump_validates_back_to_the_same_parameters(sections):
    # units receive the parameters as a dict: defaults filled from the container must survive
    p = tp(**sections)
    assert TranscodeParams.model_validate(p.model_dump(mode="json")) == p
    s = SnapshotParams.model_validate({"Mode": "Average", "Count": "3"})
    assert SnapshotParams.model_validate(s.model_dump(mode="json")) == s


# ------------------------------------------------------------------ transcode arguments
def test_every_accepted_codec_has_an_encoder():
    assert set(VIDEO_ENCODERS) == set(VIDEO_CODECS) and set(AUDIO_ENCODERS) == set(AUDIO_CODECS)


def test_input_is_whitelisted_and_trim_is_split_around_it():
    args = args_of(TimeInterval={"Start": "1.5", "Duration": "2"})
    i = args.index("-i")
    assert args[i - 2: i + 2] == ["-protocol_whitelist", "file", "-i", "in.mp4"]
    assert args.index("-ss") < i and value_after(args, "-ss") == "1.5"  # input seek
    assert args.index("-t") > i and value_after(args, "-t") == "2"  # output length
    assert args[-1] == "out"


def test_defaults_for_mp4():
    args = args_of()
    assert has_pair(args, "-c:v", "libx264") and has_pair(args, "-c:a", "aac")
    assert has_pair(args, "-crf", "25") and has_pair(args, "-pix_fmt", "yuv420p")
    assert has_pair(args, "-vf", EVEN_SIZE)
    assert has_pair(args, "-map", "0:V:0?") and has_pair(args, "-map", "0:a:0?")
    assert has_pair(args, "-movflags", "+faststart")
    for absent in ("-ss", "-t", "-r", "-g", "-b:v", "-profile:v", "-preset", "-tag:v", "-vn", "-an", "-ar", "-ac"):
        assert absent not in args


def test_h265_in_mp4_gets_hvc1_tag_but_not_in_mkv():
    mp4 = args_of(Video={"Codec": "H.265"})
    assert has_pair(mp4, "-c:v", "libx265") and has_pair(mp4, "-tag:v", "hvc1")
    mkv = args_of(Container={"Format": "mkv"}, Video={"Codec": "H.265"})
    assert has_pair(mkv, "-c:v", "libx265") and "-tag:v" not in mkv
    assert "-movflags" not in mkv


@pytest.mark.parametrize(
    "codec, video, present, absent",
    [
        ("H.264", {"Crf": "20", "Bitrate": "800"}, [("-crf", "20")], ["-b:v"]),  # Crf wins
        ("H.264", {"Bitrate": "800"}, [("-b:v", "800k")], ["-crf"]),
        ("H.264", {}, [("-crf", "25")], ["-b:v"]),
        ("H.265", {}, [("-crf", "25")], ["-b:v"]),
        ("VP8", {"Crf": "30"}, [("-crf", "30"), ("-b:v", "0")], []),
        ("VP8", {"Bitrate": "500"}, [("-b:v", "500k")], ["-crf"]),
    ],
)
def test_rate_control(codec, video, present, absent):
    args = args_of(Container={"Format": "mkv"}, Video={"Codec": codec, **video})
    for flag, value in present:
        assert has_pair(args, flag, value)
    for flag in absent:
        assert flag not in args


def test_video_options_reach_the_encoder():
    args = args_of(Video={"Fps": "30", "Gop": "60", "Profile": "High", "Preset": "veryfast", "Pixfmt": "yuv444p"})
    assert value_after(args, "-vf") == f"fps=30,{EVEN_SIZE}" and has_pair(args, "-g", "60")
    assert has_pair(args, "-profile:v", "high") and has_pair(args, "-preset", "veryfast")
    assert has_pair(args, "-pix_fmt", "yuv444p") and not has_pair(args, "-pix_fmt", "yuv420p")


def test_profile_only_for_h264_and_preset_only_for_x26x():
    h265 = args_of(Video={"Codec": "H.265", "Profile": "main", "Preset": "fast"})
    assert "-profile:v" not in h265 and has_pair(h265, "-preset", "fast")
    vp8 = args_of(Container={"Format": "webm"}, Video={"Profile": "main", "Preset": "fast"})
    assert "-profile:v" not in vp8 and "-preset" not in vp8 and "-pix_fmt" not in vp8
    assert "-profile:v" not in args_of(Video={"Profile": "auto"})


@pytest.mark.parametrize(
    "codec, encoder, container",
    [("aac", "aac", "mp4"), ("mp3", "libmp3lame", "mp4"), ("opus", "libopus", "webm"),
     ("Vorbis", "libvorbis", "webm"), ("flac", "flac", "mkv")],
)
def test_audio_codec_map(codec, encoder, container):
    assert has_pair(args_of(Container={"Format": container}, Audio={"Codec": codec}), "-c:a", encoder)


def test_audio_options():
    args = args_of(Audio={"Samplerate": "48000", "Bitrate": "96", "Channels": "2"})
    assert has_pair(args, "-ar", "48000") and has_pair(args, "-b:a", "96k") and has_pair(args, "-ac", "2")


def test_remove_audio_or_video():
    no_audio = args_of(Audio={"Remove": "true"})
    assert "-an" in no_audio and "-c:a" not in no_audio and not has_pair(no_audio, "-map", "0:a:0?")
    no_video = args_of(Video={"Remove": "true"})
    assert "-vn" in no_video and "-c:v" not in no_video and "-vf" not in no_video
    assert not has_pair(no_video, "-map", "0:V:0?")


@pytest.mark.parametrize(
    "fmt, encoder, muxer", [("mp3", "libmp3lame", "mp3"), ("aac", "aac", "adts"), ("flac", "flac", "flac")]
)
def test_audio_only_containers_drop_video(fmt, encoder, muxer):
    args = args_of(Container={"Format": fmt}, Video={"Width": "640", "Codec": "H.264"})
    assert "-vn" in args and "-c:v" not in args and "-vf" not in args
    assert has_pair(args, "-c:a", encoder) and value_after(args, "-f") == muxer


@pytest.mark.parametrize(
    "video, method, expected",
    [
        ({"Width": "640"}, None, "scale=640:-2"),
        ({"Height": "360"}, None, "scale=-2:360"),
        ({"Width": "640", "Height": "640"}, None, "scale=640:640,setsar=1"),
        ({"Width": "640", "Height": "640"}, "scale", "scale=640:640,setsar=1"),
        ({"Width": "640", "Height": "640"}, "none", "scale=640:640,setsar=1"),
        ({"Width": "640", "Height": "640"}, "crop",
         "scale=640:640:force_original_aspect_ratio=increase,crop=640:640,setsar=1"),
        ({"Width": "640", "Height": "640"}, "pad",
         "scale=640:640:force_original_aspect_ratio=decrease:force_divisible_by=2,"
         "pad=640:640:(ow-iw)/2:(oh-ih)/2:black,setsar=1"),
    ],
)
def test_scale_filters(video, method, expected):
    assert value_after(args_of(Video=video, TransConfig={"AdjDarMethod": method}), "-vf") == expected


def test_hls_writes_a_vod_playlist_with_segments_beside_it():
    args = transcode_args("in.mp4", "/w/output.m3u8", tp(Container={"Format": "hls"}, Video={"HlsTsTime": "2"}))
    assert value_after(args, "-f") == "hls" and args[-1] == "/w/output.m3u8"
    assert has_pair(args, "-hls_time", "2") and has_pair(args, "-hls_playlist_type", "vod")
    assert has_pair(args, "-hls_list_size", "0") and has_pair(args, "-hls_segment_filename", "/w/output-%d.ts")
    assert has_pair(args, "-force_key_frames", "expr:gte(t,n_forced*2)")  # segments cut where asked
    assert "-movflags" not in args and "-tag:v" not in args
    assert has_pair(transcode_args("in", "/w/o.m3u8", tp(Container={"Format": "hls"})), "-hls_time", "5")
    assert "-force_key_frames" not in args_of()  # other containers keep the encoder's key frames


def test_video_filter_is_the_vf_chain():
    p = tp(Video={"Width": "640", "Height": "640"}, TransConfig={"AdjDarMethod": "crop"})
    assert value_after(transcode_args("in", "out", p), "-vf") == video_filter(p) == scale_filter(640, 640, "crop")
    assert video_filter(tp()) == EVEN_SIZE


def test_start_past_the_end_is_refused():
    with pytest.raises(InvalidInputError, match="past the end"):
        transcode_args("in", "out", tp(TimeInterval={"Start": "10"}), source_duration=4)
    assert "-ss" in transcode_args("in", "out", tp(TimeInterval={"Start": "3"}), source_duration=4)


# ------------------------------------------------------------------ snapshot arguments
def sp(**fields: str) -> SnapshotParams:
    return SnapshotParams.model_validate(fields)


@pytest.mark.parametrize(
    "fields, duration, expected",
    [
        ({"TimeInterval": "1"}, 4.0, [0, 1, 2, 3]),  # never at or past the end
        ({"TimeInterval": "1", "Count": "2"}, 4.0, [0, 1]),
        ({"Start": "0.5", "TimeInterval": "0.7"}, 4.0, [0.5, 1.2, 1.9, 2.6, 3.3]),
        ({"Mode": "Average", "Count": "4"}, 4.0, [0, 1, 2, 3]),
        ({"Mode": "Average", "Count": "3", "Start": "1"}, 4.0, [1, 2, 3]),
        ({}, 4.0, [0]),  # Interval without TimeInterval: consecutive frames, one by default
        ({"Count": "3"}, 4.0, [0, 0.04, 0.08]),
        ({"TimeInterval": "1", "Start": "5"}, 4.0, []),
        ({"Mode": "KeyFrame", "Count": "3"}, 4.0, []),  # unknown before decoding
    ],
)
def test_snapshot_times(fields, duration, expected):
    assert snapshot_times(sp(**fields), duration) == pytest.approx(expected)


def test_snapshot_times_are_capped():
    assert len(snapshot_times(sp(TimeInterval="0.01"), 3600)) == 10000


def test_interval_snapshot_args():
    args = snapshot_args("in.mp4", "/o/s-%d.jpg", sp(Start="1", TimeInterval="0.5", Count="3", Width="320"), duration=4)
    i = args.index("-i")
    assert args[i - 4: i + 2] == ["-ss", "1", "-protocol_whitelist", "file", "-i", "in.mp4"]
    assert value_after(args, "-vf") == "select='gte(t+0.000001,selected_n*0.5)',scale=320:-2"
    assert has_pair(args, "-frames:v", "3") and has_pair(args, "-start_number", "0")
    assert has_pair(args, "-q:v", "2") and has_pair(args, "-c:v", "mjpeg") and has_pair(args, "-f", "image2")
    assert "-skip_frame" not in args and args[-1] == "/o/s-%d.jpg"


def test_average_snapshot_args_spread_count_over_what_is_left():
    p = sp(Mode="Average", Count="5", Start="1", Width="320", Height="240", Format="png")
    args = snapshot_args("in.mp4", "s-%03d.png", p, duration=11)
    assert value_after(args, "-vf") == "select='gte(t+0.000001,selected_n*2)',scale=320:240,setsar=1"
    assert has_pair(args, "-frames:v", "5") and has_pair(args, "-c:v", "png") and "-q:v" not in args


def test_keyframe_snapshot_args():
    args = snapshot_args("in.mp4", "s-%d.jpg", sp(Mode="KeyFrame", Count="7"), duration=4)
    assert args.index("-skip_frame") < args.index("-i") and has_pair(args, "-skip_frame", "nokey")
    assert has_pair(args, "-fps_mode", "vfr") and has_pair(args, "-frames:v", "7") and "-vf" not in args


def test_snapshot_args_refuse_bad_requests():
    with pytest.raises(InvalidInputError, match="past the end"):
        snapshot_args("in", "s-%d.jpg", sp(Start="9"), duration=4)
    with pytest.raises(ValueError, match="%d"):
        snapshot_args("in", "s.jpg", sp(), duration=4)


# ------------------------------------------------------------------ running ffmpeg
def test_ffmpeg_path_from_env_or_missing(monkeypatch):
    assert Path(ffmpeg_path()).name == "ffmpeg"
    monkeypatch.delenv("FFMPEG_PATH")
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(MediaError) as err:
        ffmpeg_path()
    assert err.value.code == "InternalError" and "not installed" in err.value.message


def test_failure_message_is_short_and_explains(tmp_path):
    junk = tmp_path / "junk.bin"
    junk.write_text("not a video\n" * 100)
    with pytest.raises(MediaError) as err:
        run_ffmpeg([*input_args(str(junk)), "-f", "null", "-"], timeout=30)
    assert err.value.message == "Invalid data found when processing input"  # not the whole log
    assert err.value.code == "InvalidMedia"
    junk.rename(junk.with_suffix(".mp4"))  # the mp4 demuxer then says what it missed
    with pytest.raises(MediaError) as err:
        run_ffmpeg([*input_args(str(junk.with_suffix(".mp4"))), "-f", "null", "-"], timeout=30)
    assert err.value.message == "Invalid data found when processing input (moov atom not found)"


def test_encoder_failure_names_the_cause(clip_720p, tmp_path):
    # 641 px wide is refused by x264: the first error says so; later lines are generic
    args = [*input_args(str(clip_720p)), "-t", "0.2", "-vf", "scale=641:360", "-c:v", "libx264",
            str(tmp_path / "o.mp4")]
    with pytest.raises(MediaError) as err:
        run_ffmpeg(args, timeout=30)
    assert "width not divisible by 2" in err.value.message
    assert "\n" not in err.value.message and len(err.value.message) <= 300


def test_error_summary_of_canned_log():
    log = (
        "[in#0 @ 0x55d487dfe180] [warning] Format mov,mp4,m4a,3gp,3g2,mj2 detected only with low score of 1\n"
        "[in#0 @ 0x55d487dfe180] [error] moov atom not found\n"
        "[in#0 @ 0x55d487dfde00] [error] Error opening input: Invalid data found when processing input\n"
        "[error] Error opening input file zero.mp4.\n"
        "[fatal] Error opening input files: Invalid data found when processing input\n"
    )
    assert error_summary(log) == "Invalid data found when processing input (moov atom not found)"
    assert error_summary("[info] all good\n") == ""


@pytest.mark.parametrize("with_progress", [False, True])
def test_timeout_kills_ffmpeg(with_progress):
    seen: list[float] = []
    started = time.monotonic()
    with pytest.raises(MediaError) as err:  # -re: read the 60 s source in real time
        run_ffmpeg(["-re", "-f", "lavfi", "-i", "testsrc2=size=64x64:rate=5:duration=60", "-f", "null", "-"],
                   timeout=1, progress=seen.append if with_progress else None, duration=60)
    assert err.value.code == "Timeout" and err.value.message == "ffmpeg timed out after 1 s"
    assert time.monotonic() - started < 5
    if with_progress:
        assert seen and max(seen) < 0.1


def test_progress_is_reported(clip_720p, tmp_path):
    seen: list[float] = []
    args = [*input_args(str(clip_720p)), "-vn", "-c:a", "aac", str(tmp_path / "a.m4a")]
    run_ffmpeg(args, timeout=60, progress=seen.append, duration=CLIP_SECONDS)
    assert seen and seen[-1] == 1.0
    assert all(0 <= f <= 1 for f in seen) and seen == sorted(seen)


# ------------------------------------------------------------------ hostile inputs
@pytest.fixture
def listener():
    """A TCP port that records whether anything connected to it."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        server.settimeout(0.2)
        yield server


def assert_nobody_connected(server: socket.socket) -> None:
    with pytest.raises(TimeoutError):
        server.accept()


def hls(segment: str) -> str:
    return f"#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4.0,\n{segment}\n#EXT-X-ENDLIST\n"


def ffconcat(entry: str) -> str:
    return f"ffconcat version 1.0\nfile '{entry}'\n"


@pytest.mark.parametrize(
    "make, name, reason",
    [
        # ffmpeg would allow "file,crypto,data" here by default; the message shows our stricter list applies
        (hls, "list.m3u8", "Protocol 'http' not on whitelist 'file'!"),
        (ffconcat, "list.ffconcat", "Unsafe file name"),
    ],
)
def test_playlist_pointing_at_http_fails_without_connecting(make, name, reason, listener, tmp_path):
    host, port = listener.getsockname()
    playlist = tmp_path / name
    playlist.write_text(make(f"http://{host}:{port}/x.ts"))
    with pytest.raises(MediaError) as err:
        run_ffmpeg([*input_args(str(playlist)), "-f", "null", "-"], timeout=30)
    assert reason in err.value.message
    assert_nobody_connected(listener)


def test_spec_example_port_9_fails_too(tmp_path):
    playlist = tmp_path / "x.m3u8"
    playlist.write_text(hls("http://127.0.0.1:9/x.ts"))
    with pytest.raises(MediaError, match="not on whitelist 'file'"):
        run_ffmpeg([*input_args(str(playlist)), "-f", "null", "-"], timeout=30)


@pytest.mark.parametrize("make, name", [(hls, "list.m3u8"), (ffconcat, "list.ffconcat")])
@pytest.mark.parametrize("secret", ["/etc/passwd", "../../../../../../etc/passwd"])
def test_playlist_pointing_at_local_secrets_fails(make, name, secret, tmp_path):
    playlist = tmp_path / name
    playlist.write_text(make(secret))
    out = tmp_path / "leak.mkv"
    with pytest.raises(MediaError) as err:
        run_ffmpeg([*input_args(str(playlist)), "-c", "copy", str(out)], timeout=30)
    message = err.value.message
    # the hls demuxer's refusal: ffmpeg 7 says "... blocked for security reasons", later ones name the option
    assert any(reason in message for reason in ("allowed_segment_extensions", "Unsafe file name",
                                                 "blocked for security reasons"))
    assert not out.exists()


def test_local_playlist_of_local_segments_still_works(clip_720p, make_media, tmp_path):
    segment = make_media(tmp_path / "seg.ts", "-i", str(clip_720p), "-t", "1", "-c", "copy")
    playlist = tmp_path / "ok.m3u8"
    playlist.write_text(hls(segment.name))
    run_ffmpeg([*input_args(str(playlist)), "-f", "null", "-"], timeout=30)


# ------------------------------------------------------------------ real transcodes and snapshots
def transcode(src: Path, dst: Path, **sections: dict) -> None:
    info = probe(str(src))
    run_ffmpeg(transcode_args(str(src), str(dst), tp(**sections), source_duration=info.duration), timeout=120)


@pytest.mark.parametrize("height, width", [(360, 640), (720, 1280)])
def test_transcode_to_mp4_keeps_aspect_and_duration(clip_720p, tmp_path, height, width):
    out = tmp_path / f"{height}.mp4"
    transcode(clip_720p, out, Video={"Height": str(height), "Preset": "ultrafast"})
    info = probe(str(out))
    assert (info.width, info.height) == (width, height)
    assert info.video.CodecName == "h264" and info.video.PixFormat == "yuv420p"
    assert info.audio.CodecName == "aac"
    assert info.duration == pytest.approx(CLIP_SECONDS, abs=0.1)


def test_transcode_pad_trim_and_remove_audio(clip_720p, tmp_path):
    out = tmp_path / "square.mp4"
    transcode(clip_720p, out, Video={"Width": "320", "Height": "320", "Preset": "ultrafast"},
              Audio={"Remove": "true"}, TransConfig={"AdjDarMethod": "pad"},
              TimeInterval={"Start": "1", "Duration": "2"})
    info = probe(str(out))
    assert (info.width, info.height, info.video.Dar) == (320, 320, "1:1")
    assert info.audio is None and info.Stream.Audio == []
    assert info.duration == pytest.approx(2, abs=0.1)


def test_transcode_audio_only_mp3(clip_720p, tmp_path):
    out = tmp_path / "a.mp3"
    transcode(clip_720p, out, Container={"Format": "mp3"}, Audio={"Bitrate": "64"})
    info = probe(str(out))
    assert info.video is None and info.audio.CodecName == "mp3"
    assert info.Format.FormatName == "mp3"
    assert info.duration == pytest.approx(CLIP_SECONDS, abs=0.1)


def test_transcode_video_without_audio_input(make_media, tmp_path):
    # "-map 0:a:0?" lets an input without audio through
    silent = make_media(tmp_path / "silent.mp4", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25",
                        "-t", "1", "-c:v", "libx264", "-preset", "ultrafast")
    out = tmp_path / "out.mp4"
    transcode(silent, out, Video={"Preset": "ultrafast"})
    assert probe(str(out)).audio is None


def test_odd_sized_input_is_evened_for_x264(make_media, tmp_path):
    odd = make_media(tmp_path / "odd.mkv", "-f", "lavfi", "-i", "testsrc2=size=321x241:rate=25",
                     "-t", "0.4", "-c:v", "ffv1")
    out = tmp_path / "even.mp4"
    transcode(odd, out, Video={"Preset": "ultrafast"})
    assert (probe(str(out)).width, probe(str(out)).height) == (320, 240)


@pytest.mark.parametrize(
    "container, video, audio, expected",
    [
        ("mp4", {"Codec": "H.265"}, {}, ("hevc", "hvc1", "aac")),
        ("webm", {}, {}, ("vp8", "", "opus")),
        ("mkv", {"Crf": "30"}, {"Codec": "flac"}, ("h264", "", "flac")),
        ("ts", {"Bitrate": "300"}, {"Codec": "mp3"}, ("h264", "[27][0][0][0]", "mp3")),
        ("flv", {"Gop": "10"}, {"Samplerate": "22050", "Channels": "2"}, ("h264", "", "aac")),
    ],
)
def test_codecs_and_containers_really_encode(clip_720p, tmp_path, container, video, audio, expected):
    out = tmp_path / f"out.{container}"
    transcode(clip_720p, out, Container={"Format": container}, TimeInterval={"Duration": "1"},
              Video={"Width": "320", **video}, Audio=audio or None)
    info = probe(str(out))
    assert (info.video.CodecName, info.video.CodecTagString, info.audio.CodecName) == expected
    assert (info.width, info.height) == (320, 180)
    assert info.duration == pytest.approx(1, abs=0.1)


# Each option below really encoded, from a small clip, and read back from the output.
SMALL_SECONDS = 2.0


@pytest.fixture(scope="module")
def small_clip(make_media, tmp_path_factory) -> Path:
    """2 s of 320x180 24 fps test pattern (H.264) and a tone (AAC)."""
    return make_media(tmp_path_factory.mktemp("small") / "small.mp4",
                      "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=24",
                      "-f", "lavfi", "-i", "sine=sample_rate=44100", "-t", str(SMALL_SECONDS),
                      "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac")


@pytest.fixture(scope="module")
def white_clip(make_media, tmp_path_factory) -> Path:
    """0.5 s of plain white 320x180: black in an output can only be padding."""
    return make_media(tmp_path_factory.mktemp("white") / "white.mp4",
                      "-f", "lavfi", "-i", "color=white:size=320x180:rate=24", "-t", "0.5",
                      "-c:v", "libx264", "-preset", "ultrafast")


def encode(src: Path, dst: Path, **sections: dict) -> MediaInfo:
    """Transcode with ultrafast unless Video says otherwise; the output's probe."""
    sections["Video"] = {"Preset": "ultrafast", **sections.get("Video", {})}
    transcode(src, dst, **sections)
    return probe(str(dst))


def keyframe_count(path: Path) -> int:
    """The frames decoded when only key frames are (ffmpeg's closing "frame=N" statistics)."""
    log = run_ffmpeg(["-skip_frame", "nokey", *input_args(str(path)), "-map", "0:v:0", "-f", "null", "-"], timeout=30)
    return int(re.findall(r"frame=\s*(\d+)", log)[-1])


@pytest.mark.parametrize(
    "fmt, video, audio, expected",
    [
        ("mkv", {}, {"Codec": "vorbis"}, ("h264", "vorbis", "matroska,webm")),
        ("mp4", {"Remove": "true"}, {}, (None, "aac", "mov,mp4,m4a,3gp,3g2,mj2")),
        ("aac", {}, {"Bitrate": "64"}, (None, "aac", "aac")),
        ("flac", {}, {"Samplerate": "22050"}, (None, "flac", "flac")),
    ],
)
def test_remaining_codecs_and_audio_only_outputs(small_clip, tmp_path, fmt, video, audio, expected):
    info = encode(small_clip, tmp_path / f"out.{fmt}", Container={"Format": fmt}, Video=video, Audio=audio or None)
    assert (info.video and info.video.CodecName, info.audio.CodecName, info.Format.FormatName) == expected
    assert info.duration == pytest.approx(SMALL_SECONDS, abs=0.1)
    if fmt == "flac":
        assert info.audio.SampleRate == "22050"


def test_fps_is_the_output_frame_rate(small_clip, tmp_path):
    info = encode(small_clip, tmp_path / "12.mp4", Video={"Fps": "12"})
    assert info.video.Fps == "12.000000" and info.duration == pytest.approx(SMALL_SECONDS, abs=0.1)


@pytest.mark.parametrize("low, high", [({"Bitrate": "100"}, {"Bitrate": "1500"}), ({"Crf": "45"}, {"Crf": "15"})])
def test_bitrate_and_crf_set_the_size(small_clip, tmp_path, low, high):
    small = encode(small_clip, tmp_path / "low.mp4", Video=low, Audio={"Remove": "true"})
    large = encode(small_clip, tmp_path / "high.mp4", Video=high, Audio={"Remove": "true"})
    assert int(large.Format.Size) > 3 * int(small.Format.Size)
    if "Bitrate" in low:  # x264's rate control gets near the target even on 2 s
        assert float(small.video.Bitrate) < 200


@pytest.mark.parametrize("gop, keyframes", [("6", 8), ("24", 2)])
def test_gop_is_the_key_frame_interval(small_clip, tmp_path, gop, keyframes):
    out = tmp_path / "gop.mp4"
    encode(small_clip, out, Video={"Gop": gop}, Audio={"Remove": "true"})
    assert keyframe_count(out) == keyframes  # 48 frames


@pytest.mark.parametrize("profile, expected",
                         [("baseline", "Constrained Baseline"), ("main", "Main"), ("high", "High")])
def test_profile_reaches_the_stream(small_clip, tmp_path, profile, expected):
    # veryfast uses CABAC and 8x8 transforms, which only the profile can then forbid
    info = encode(small_clip, tmp_path / "p.mp4", Video={"Profile": profile, "Preset": "veryfast"},
                  TimeInterval={"Duration": "0.5"}, Audio={"Remove": "true"})
    assert info.video.Profile == expected


@pytest.mark.parametrize("preset, subme",
                         [("ultrafast", b"subme=0 "), ("veryfast", b"subme=2 "), ("medium", b"subme=7 ")])
def test_preset_reaches_the_encoder(small_clip, tmp_path, preset, subme):
    out = tmp_path / "p.mp4"
    encode(small_clip, out, Video={"Preset": preset}, TimeInterval={"Duration": "0.5"}, Audio={"Remove": "true"})
    assert subme in out.read_bytes()  # x264 writes its settings into the stream


@pytest.mark.parametrize("method, white", [("scale", (160, 160)), ("crop", (160, 160)), ("pad", (160, 90))])
def test_adj_dar_method_fills_or_pads_the_frame(white_clip, tmp_path, method, white):
    out = tmp_path / f"{method}.mp4"
    info = encode(white_clip, out, Video={"Width": "160", "Height": "160"}, TransConfig={"AdjDarMethod": method})
    assert (info.width, info.height, info.video.Sar) == (160, 160, "1:1")
    log = run_ffmpeg([*input_args(str(out)), "-vf", "cropdetect=round=2:reset=1", "-f", "null", "-"], timeout=30)
    width, height = map(int, re.findall(r"crop=(\d+):(\d+)", log)[-1])  # the white part: all, or between bars
    assert width == white[0] and height == pytest.approx(white[1], abs=4)  # give or take a blurred edge


def run_snapshots(src: Path, out_dir: Path, p: SnapshotParams) -> list[Path]:
    duration = probe(str(src)).duration
    run_ffmpeg(snapshot_args(str(src), str(out_dir / f"snap-%d.{p.Format}"), p, duration=duration), timeout=60)
    return sorted(out_dir.iterdir(), key=lambda f: int(f.stem.split("-")[1]))


@pytest.mark.parametrize(
    "fields, size",
    [
        ({"Mode": "Interval", "TimeInterval": "1", "Width": "320"}, (320, 180)),
        ({"Mode": "Interval", "Start": "0.5", "TimeInterval": "1.5", "Count": "2", "Height": "144"}, (256, 144)),
        ({"Mode": "Average", "Count": "3", "Width": "160", "Height": "160", "Format": "png"}, (160, 160)),
        # an interval longer than the clip: its first frame (an fps filter rounding to the nearest gave none)
        ({"Mode": "Interval", "TimeInterval": "10", "Width": "320"}, (320, 180)),
        ({"Mode": "Interval", "TimeInterval": "3", "Width": "320"}, (320, 180)),  # 0 s and 3 s, not only 0 s
    ],
)
def test_snapshots_count_and_size(clip_720p, tmp_path, fields, size):
    p = sp(**fields)
    files = run_snapshots(clip_720p, tmp_path, p)
    expected = snapshot_times(p, CLIP_SECONDS)
    assert expected and [f.name for f in files] == [f"snap-{i}.{p.Format}" for i in range(len(expected))]
    info = probe(str(files[-1]))
    assert (info.width, info.height) == size


def test_keyframe_snapshots(clip_720p, tmp_path):
    files = run_snapshots(clip_720p, tmp_path, sp(Mode="KeyFrame", Count="3"))
    assert len(files) == 3  # the clip has a key frame every second


@pytest.mark.parametrize(("duration", "pieces", "shortest"), [
    (7200, 120, 60.0),  # two hours: one-minute pieces, run by the Distributed Map beyond the 40 an inline Map runs
    (4 * 3600, 240, 60.0),  # four hours, the state machine's timeout: the most pieces a job is cut into
    (6 * 3600, 240, 90.0),  # longer: as many pieces, each longer
    (119, 1, 119.0),  # under two pieces: one unit
])
def test_a_long_input_is_cut_into_pieces_of_at_least_split_seconds(duration: float, pieces: int, shortest: float) -> None:
    cuts = cut_times(duration, 60)
    bounds = [0.0, *cuts, duration]
    assert len(cuts) + 1 == pieces
    assert min(b - a for a, b in zip(bounds, bounds[1:])) == pytest.approx(shortest)
