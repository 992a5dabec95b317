"""Animated gif/webp (Tag=Animation): parameters, argument lists, and real ffmpeg runs on a small clip."""

import os
import subprocess
from pathlib import Path

import pytest
import xmltodict
from pydantic import ValidationError

from mediaflow.exceptions import InvalidInputError
from mediaflow.media import AnimationParams, animation_args, probe, run_ffmpeg
from mediaflow.media.commands import GIF_PALETTES

pytestmark = pytest.mark.unit

SECONDS = 4  # the length of the `clip` fixture


def ap(**sections: dict) -> AnimationParams:
    return AnimationParams.model_validate(sections)


def value_after(args: list[str], flag: str) -> str:
    assert flag in args, f"{flag} missing from {args}"
    return args[args.index(flag) + 1]


def frame_count(path: Path) -> int:
    """Frames stored in an animation: one packet each, listed by the framecrc muxer without decoding."""
    cmd = [os.environ["FFMPEG_PATH"], "-v", "error", "-i", str(path), "-map", "0:v:0", "-c", "copy",
           "-f", "framecrc", "-"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=30).stdout
    return sum(1 for line in out.splitlines() if line and not line.startswith("#"))


def global_colour_table(gif: Path) -> bytes:
    data = gif.read_bytes()
    assert data[:6] == b"GIF89a" and data[10] & 0x80, "a GIF with a global colour table"
    return data[13:13 + 3 * 2 ** ((data[10] & 7) + 1)]


@pytest.fixture(scope="module")
def clip(make_media, tmp_path_factory) -> Path:
    """4 s of a colourful 320x240 test pattern at 25 fps, a key frame every second (gop 25)."""
    return make_media(tmp_path_factory.mktemp("anim") / "clip.mp4",
                      "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-t", str(SECONDS),
                      "-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-keyint_min", "25", "-sc_threshold", "0")


def animate(src: Path, dst: Path, p: AnimationParams) -> Path:
    run_ffmpeg(animation_args(str(src), str(dst), p, duration=SECONDS), timeout=60)
    return dst


# ------------------------------------------------------------------ parameters
def test_parses_xmltodict_output():
    xml = """<Animation>
      <Container><Format>HGIF</Format></Container>
      <Video><Width>320</Width><Height/><Fps>12.5</Fps><AnimateOnlyKeepKeyFrame>true</AnimateOnlyKeepKeyFrame>
             <AnimateTimeIntervalOfFrame>0.5</AnimateTimeIntervalOfFrame><Quality></Quality></Video>
      <TimeInterval><Start>1</Start><Duration>2.5</Duration></TimeInterval>
    </Animation>"""
    p = AnimationParams.model_validate(xmltodict.parse(xml)["Animation"])
    assert (p.Container.Format, p.Video.Codec, p.extension) == ("hgif", "gif", "gif")
    assert p.Video.Width == 320 and p.Video.Height is None and p.Video.Fps == 12.5
    assert p.Video.AnimateOnlyKeepKeyFrame is True and p.Video.Quality is None
    assert (p.TimeInterval.Start, p.TimeInterval.Duration) == (1, 2.5)


@pytest.mark.parametrize("fmt, codec", [("gif", "gif"), ("hgif", "gif"), ("webp", "webp")])
def test_codec_and_extension_follow_the_container_and_survive_a_dump(fmt, codec):
    p = ap(Container={"Format": fmt})
    assert p.Video.Codec == codec and p.extension == codec
    assert AnimationParams.model_validate(p.model_dump(mode="json", exclude_none=True)) == p
    assert ap().Container.Format == "gif"


@pytest.mark.parametrize(
    "sections",
    [
        {"Container": {"Format": "apng"}},
        {"Container": {"Format": "gif"}, "Video": {"Codec": "webp"}},  # codec the container cannot hold
        {"Video": {"Codec": "H.264"}},
        {"Video": {"Width": "127"}}, {"Video": {"Height": "4097"}},
        {"Video": {"Fps": "0"}}, {"Video": {"Fps": "61"}},
        {"Video": {"AnimateFramesPerSecond": "0"}}, {"Video": {"AnimateTimeIntervalOfFrame": "-1"}},
        {"Video": {"AnimateOnlyKeepKeyFrame": "maybe"}},
        {"Video": {"Quality": "0"}}, {"Video": {"Quality": "100"}},
        {"TimeInterval": {"Start": "-1"}},
    ],
)
def test_invalid_animation_values_raise_validation_error(sections):
    with pytest.raises(ValidationError):
        ap(**sections)


@pytest.mark.parametrize(
    "video, mode",
    [
        ({}, "every"),
        ({"AnimateTimeIntervalOfFrame": "1"}, "interval"),
        ({"AnimateTimeIntervalOfFrame": "1", "AnimateOnlyKeepKeyFrame": "true"}, "keyframes"),
        ({"AnimateTimeIntervalOfFrame": "1", "AnimateOnlyKeepKeyFrame": "true", "AnimateFramesPerSecond": "5"}, "rate"),
        ({"AnimateOnlyKeepKeyFrame": "false", "AnimateFramesPerSecond": "5"}, "rate"),
    ],
)
def test_frame_selection_precedence(video, mode):
    assert ap(Video=video).Video.frame_mode == mode


# ------------------------------------------------------------------ arguments
def test_gif_args_trim_on_the_input_and_use_a_generated_palette():
    p = ap(Video={"Width": "200", "AnimateFramesPerSecond": "2"}, TimeInterval={"Start": "1", "Duration": "2"})
    args = animation_args("in.mp4", "out.gif", p, duration=4)
    i = args.index("-i")
    assert args[:i + 2] == ["-ss", "1", "-t", "2", "-protocol_whitelist", "file", "-i", "in.mp4"]
    graph = value_after(args, "-vf")
    assert graph.startswith("select='") and ",scale=200:-2," in graph and graph.endswith(GIF_PALETTES["gif"])
    assert "palettegen" in graph and "paletteuse" in graph and "split" in graph
    assert value_after(args, "-c:v") == "gif" and value_after(args, "-loop") == "0"
    assert value_after(args, "-fps_mode") == "vfr" and args[-3:] == ["-f", "gif", "out.gif"]
    assert "-skip_frame" not in args


def test_keyframes_are_picked_by_the_decoder_and_fps_sets_the_playback_rate():
    args = animation_args("in", "o", ap(Video={"AnimateOnlyKeepKeyFrame": "true", "Fps": "5"}), duration=4)
    assert args.index("-skip_frame") < args.index("-i") and value_after(args, "-skip_frame") == "nokey"
    assert value_after(args, "-vf").startswith("setpts=N/(5*TB),")
    assert "select" not in value_after(args, "-vf")


def test_webp_args():
    p = ap(Container={"Format": "webp"}, Video={"Quality": "60", "Height": "180"})
    args = animation_args("in", "o.webp", p, duration=4)
    assert value_after(args, "-c:v") == "libwebp_anim" and value_after(args, "-quality") == "60"
    assert value_after(args, "-vf") == "scale=-2:180" and value_after(args, "-loop") == "0"
    assert args[-3:] == ["-f", "webp", "o.webp"]
    plain = animation_args("in", "o.webp", ap(Container={"Format": "webp"}), duration=4)
    assert "-vf" not in plain and "-quality" not in plain  # every frame as it is, libwebp's default quality


def test_start_past_the_end_is_refused():
    with pytest.raises(InvalidInputError, match="past the end"):
        animation_args("in", "o.gif", ap(TimeInterval={"Start": "4"}), duration=4)


# ------------------------------------------------------------------ real runs
@pytest.mark.parametrize(
    "video, frames",
    [
        ({"AnimateFramesPerSecond": "2"}, 8),  # 2 a second over 4 s
        ({"AnimateOnlyKeepKeyFrame": "true", "AnimateTimeIntervalOfFrame": "0.5"}, 4),  # key frames win
        ({"AnimateTimeIntervalOfFrame": "1"}, 4),
        ({"AnimateFramesPerSecond": "50"}, 100),  # above the source's 25 fps: every frame, none twice
    ],
)
def test_gif_frame_count_follows_the_selection(clip, tmp_path, video, frames):
    out = animate(clip, tmp_path / "a.gif", ap(Video={"Width": "160", **video}))
    info = probe(str(out))
    assert info.Format.FormatName == "gif" and (info.width, info.height) == (160, 120)
    assert frame_count(out) == frames


def test_every_frame_of_a_trimmed_clip_in_high_quality_gif(clip, tmp_path):
    out = animate(clip, tmp_path / "a.gif", ap(Container={"Format": "hgif"}, Video={"Width": "128", "Height": "128"},
                                              TimeInterval={"Start": "1", "Duration": "1"}))
    assert frame_count(out) == 25
    assert (probe(str(out)).width, probe(str(out)).height) == (128, 128)


def test_fps_is_the_playback_rate(clip, tmp_path):
    real_time = probe(str(animate(clip, tmp_path / "a.gif", ap(Video={"AnimateFramesPerSecond": "2"})))).duration
    fast = animate(clip, tmp_path / "b.gif", ap(Video={"AnimateFramesPerSecond": "2", "Fps": "10"}))
    assert frame_count(fast) == 8
    assert real_time > 3 and probe(str(fast)).duration < 1  # 8 frames at 10 fps


def test_gif_palette_is_generated_not_ffmpegs_default(clip, make_media, tmp_path):
    default = make_media(tmp_path / "default.gif", "-i", str(clip), "-t", "0.2", "-vf", "scale=160:-2")
    ours = animate(clip, tmp_path / "ours.gif", ap(Video={"Width": "160", "AnimateFramesPerSecond": "2"}))
    assert global_colour_table(ours) != global_colour_table(default)


def test_animated_webp(clip, tmp_path):
    p = ap(Container={"Format": "webp"}, Video={"Width": "200", "Height": "150", "AnimateTimeIntervalOfFrame": "0.5",
                                                "Quality": "50"})
    out = animate(clip, tmp_path / "a.webp", p)
    data = out.read_bytes()
    assert data[:4] == b"RIFF" and data[8:12] == b"WEBP"
    anim = data.index(b"ANIM")  # the chunk of an animated webp: background colour, then the loop count
    assert int.from_bytes(data[anim + 12:anim + 14], "little") == 0  # loops forever
    # the canvas, from the VP8X header: ffmpeg 7 cannot decode an animated webp (its webp decoder reads
    # still images; ffmpeg 8 added "webp_anim"), so its dump names the codec but gives no size
    assert data[12:16] == b"VP8X"
    assert (int.from_bytes(data[24:27], "little") + 1, int.from_bytes(data[27:30], "little") + 1) == (200, 150)
    assert probe(str(out)).video.CodecName in ("webp", "webp_anim")
    assert data.count(b"ANMF") == 8  # one frame chunk each
