"""probe(): media information parsed from `ffmpeg -i`, on generated files and on canned dumps."""

import re

import pytest

from mediaflow.exceptions import MediaError
from mediaflow.media import probe
from mediaflow.media.probe import parse_dump

pytestmark = pytest.mark.unit

DECIMAL = re.compile(r"^\d+\.\d{6}$")  # CI's "834.736000"


def dump(*lines: str) -> str:
    """stderr of `ffmpeg -loglevel level+info -i`: every line of the dump tagged [info]."""
    return "".join(f"[info] {line}\n" for line in lines) + "[fatal] At least one output file must be specified\n"


# ------------------------------------------------------------------ generated files
def test_probe_mp4(clip_720p):
    info = probe(str(clip_720p))
    fmt = info.Format
    assert fmt.FormatName == "mov,mp4,m4a,3gp,3g2,mj2" and fmt.FormatLongName == "QuickTime / MOV"
    assert fmt.Duration == "4.000000" and fmt.StartTime == "0.000000"
    assert (fmt.NumStream, fmt.NumProgram) == ("2", "0")
    assert fmt.Size == str(clip_720p.stat().st_size)
    assert DECIMAL.match(fmt.Bitrate) and float(fmt.Bitrate) > 0

    v = info.video
    assert (v.Index, v.CodecName, v.Profile, v.PixFormat) == ("0", "h264", "Constrained Baseline", "yuv420p")
    assert (v.Width, v.Height, v.Sar, v.Dar) == ("1280", "720", "1:1", "16:9")
    assert (v.Fps, v.AvgFps, v.Timebase) == ("25.000000", "25/1", "1/12800")
    assert (v.CodecTagString, v.CodecTag, v.Language) == ("avc1", "0x31637661", "und")
    assert v.Duration == "4.000000" and DECIMAL.match(v.Bitrate) and v.Rotation == "0.000000"

    a = info.audio
    assert (a.Index, a.CodecName, a.Profile) == ("1", "aac", "LC")
    assert (a.SampleRate, a.Channel, a.ChannelLayout, a.SampleFmt) == ("44100", "1", "mono", "fltp")
    assert DECIMAL.match(a.Bitrate) and a.Duration == "4.000000"

    assert info.duration == 4.0 and (info.width, info.height) == (1280, 720)


def test_probe_other_containers(clip_720p, make_media, tmp_path):
    mkv = probe(str(make_media(tmp_path / "c.mkv", "-i", str(clip_720p), "-c", "copy")))
    assert mkv.Format.FormatName == "matroska,webm" and mkv.video.Bitrate == ""  # mkv stores none
    ts = probe(str(make_media(tmp_path / "c.ts", "-i", str(clip_720p), "-c", "copy")))
    assert ts.Format.NumProgram == "1" and float(ts.video.StartTime) > 0  # mpegts starts at 1.4 s
    assert ts.video.CodecTagString == "[27][0][0][0]" and ts.video.Timebase == "1/90000"


def test_probe_audio_only_with_cover_art(clip_720p, make_media, tmp_path):
    cover = make_media(tmp_path / "cover.png", "-i", str(clip_720p), "-frames:v", "1", "-s", "128x72")
    mp3 = make_media(tmp_path / "song.mp3", "-i", str(clip_720p), "-i", str(cover), "-map", "0:a", "-map", "1",
                     "-c:a", "libmp3lame", "-c:v", "png", "-disposition:v", "attached_pic", "-t", "1")
    info = probe(str(mp3))
    assert info.video is None and info.width is None  # cover art is not video
    assert info.Format.NumStream == "2" and info.audio.CodecName == "mp3"
    assert info.audio.Profile == ""  # "(mp3float)" names the decoder, not a profile


def test_probe_rotation_and_24_bit_stereo(clip_720p, make_media, tmp_path):
    src = make_media(tmp_path / "pcm.mov", "-i", str(clip_720p), "-t", "0.5", "-c:v", "copy",
                     "-c:a", "pcm_s24le", "-ac", "2", "-metadata:s:a", "language=eng")
    rotated = make_media(tmp_path / "rot.mov", "-display_rotation", "90", "-i", str(src), "-c", "copy")
    info = probe(str(rotated))
    assert info.video.Rotation == "90.000000"
    a = info.audio
    assert (a.CodecName, a.Channel, a.ChannelLayout) == ("pcm_s24le", "2", "stereo")
    assert (a.SampleFmt, a.Language) == ("s32", "eng")  # "s32 (24 bit)"


def test_probe_ignores_look_alike_lines_in_metadata_values(clip_720p, make_media, tmp_path):
    fake = ("x\n  Duration: 00:00:00.01, start: 0.000000, bitrate: 1 kb/s\n"
            "  Stream #0:7: Video: h264, yuv420p, 4000x4000")
    out = make_media(tmp_path / "v.mp4", "-i", str(clip_720p), "-c", "copy", "-metadata", f"title={fake}")
    info = probe(str(out))
    assert info.duration == 4.0 and info.Format.NumStream == "2" and info.width == 1280


def test_probe_refuses_look_alike_lines_in_metadata_keys(clip_720p, make_media, tmp_path):
    # keys are printed raw, newlines included: these lines are indistinguishable from ffmpeg's own
    key = "k\n[info]   Stream #0:1: Video: h264, yuv420p, 4000x4000, 25 fps\n[info]     x"
    out = make_media(tmp_path / "a.mp3", "-i", str(clip_720p), "-vn", "-t", "1", "-metadata", f"{key}=v")
    with pytest.raises(MediaError, match="imitates ffmpeg's own output"):
        probe(str(out))


# ------------------------------------------------------------------ files that are not media
def test_zero_byte_file(tmp_path):
    empty = tmp_path / "empty.mp4"
    empty.touch()
    with pytest.raises(MediaError) as err:
        probe(str(empty))
    assert err.value.message == "empty.mp4 is not a media file ffmpeg can read: the file is empty"
    assert err.value.code == "InvalidMedia"


def test_truncated_mp4(clip_720p, tmp_path):
    truncated = tmp_path / "cut.mp4"
    truncated.write_bytes(clip_720p.read_bytes()[:1000])
    with pytest.raises(MediaError) as err:
        probe(str(truncated))
    assert err.value.message == (
        "cut.mp4 is not a media file ffmpeg can read: Invalid data found when processing input (moov atom not found)"
    )


@pytest.mark.parametrize("name", ["notes.json", "README"])  # extensions steer ffmpeg's guess: .dat is "luodat"
def test_text_file(tmp_path, name):
    text = tmp_path / name
    text.write_text('{"these are": "not the frames you are looking for"}\n')
    with pytest.raises(MediaError) as err:
        probe(str(text))
    assert err.value.message == f"{name} is not a media file ffmpeg can read: Invalid data found when processing input"


def test_text_file_is_not_ansi_art_video(tmp_path):
    # ffmpeg's tty demuxer happily reads a .txt file as a 640x400 "video" of its text
    text = tmp_path / "notes.txt"
    text.write_text("These are not the frames you are looking for.\n" * 50)
    with pytest.raises(MediaError) as err:
        probe(str(text))
    assert err.value.message == (
        "notes.txt is not a media file ffmpeg can read: it is text, which ffmpeg's tty demuxer would draw as video"
    )


def test_missing_file(tmp_path):
    with pytest.raises(MediaError, match="cannot read nothing.mp4: No such file"):
        probe(str(tmp_path / "nothing.mp4"))


# ------------------------------------------------------------------ canned dumps (variants hard to generate)
def test_sar_dar_outside_brackets_and_after_bitrate():
    info = parse_dump(dump(
        "Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'p.mov':",
        "  Duration: 00:00:01.00, start: 0.000000, bitrate: 6236 kb/s",
        "  Stream #0:0[0x1]: Video: prores (Standard) (apcn / 0x6E637061), yuv422p10le(tv, progressive), 320x240,"
        " 6229 kb/s, SAR 1:1 DAR 4:3, 29.97 fps, 29.97 tbr, 30k tbn (default)",
    ))
    v = info.video
    assert (v.Width, v.Height, v.Sar, v.Dar, v.Bitrate) == ("320", "240", "1:1", "4:3", "6229.000000")
    assert (v.Fps, v.AvgFps, v.Timebase) == ("29.970000", "30000/1001", "1/30000")
    assert (v.ColorRange, v.FieldOrder, v.Profile, v.CodecTag) == ("tv", "progressive", "Standard", "0x6e637061")


def test_interlaced_with_colours_and_no_stream_bitrate():
    info = parse_dump(dump(
        "Input #0, matroska,webm, from 'i.mkv':",
        "  Duration: 01:02:03.45, start: 0.000000, bitrate: N/A",
        "  Stream #0:0(eng): Video: h264 (High), yuv420p(tv, bt709, top first), 1920x1080, SAR 1:1 DAR 16:9,"
        " 25 fps, 50 tbr, 1k tbn (default) (forced)",
        "  Stream #0:1: Video: mpeg2video (Main), yuv420p(tv, top coded first (swapped)), 720x576 [SAR 64:45 DAR 16:9]",
    ))
    assert info.duration == pytest.approx(3723.45) and info.Format.Bitrate == ""
    v = info.video
    assert (v.FieldOrder, v.Language, v.Fps, v.Bitrate) == ("top first", "eng", "25.000000", "")
    assert info.Stream.Video[1].FieldOrder == "top coded first (swapped)"
    assert (info.Stream.Video[1].Sar, info.Stream.Video[1].Fps) == ("64:45", "")


@pytest.mark.parametrize(
    "audio, channel, layout, fmt",
    [
        ("pcm_s16le ([1][0][0][0] / 0x0001), 44100 Hz, 3 channels, s16, 2116 kb/s", "3", "", "s16"),
        ("aac (HE-AAC), 48000 Hz, 5.1(side), fltp, 256 kb/s (default)", "6", "5.1(side)", "fltp"),
        ("eac3, 48000 Hz, 7.1.4, fltp, 768 kb/s", "12", "7.1.4", "fltp"),
        ("flac, 96000 Hz, stereo, s32 (24 bit)", "2", "stereo", "s32"),
        ("opus, 48000 Hz, quad, fltp", "4", "quad", "fltp"),
    ],
)
def test_audio_variants(audio, channel, layout, fmt):
    info = parse_dump(dump(
        "Input #0, matroska,webm, from 'a.mka':",
        "  Duration: 00:00:02.00, start: 0.000000, bitrate: 100 kb/s",
        f"  Stream #0:0: Audio: {audio}",
    ))
    a = info.audio
    assert (a.Channel, a.ChannelLayout, a.SampleFmt) == (channel, layout, fmt)


def test_still_image_without_duration():
    info = parse_dump(dump(
        "Input #0, png_pipe, from 'i.png':",
        "  Duration: N/A, bitrate: N/A",
        "  Stream #0:0: Video: png, rgb24(pc, gbr/unknown/unknown), 320x180 [SAR 1:1 DAR 16:9], 25 fps, 25 tbr, 25 tbn",
    ))
    assert info.duration == 0.0 and info.Format.Duration == "" and (info.width, info.height) == (320, 180)
    assert info.video.ColorRange == "pc" and info.video.PixFormat == "rgb24"


def test_messages_from_other_contexts_and_output_section_are_skipped():
    stderr = (
        "[aist#0:0/pcm_s16le @ 0x55ea75fb9440] [info] Guessed Channel Layout: mono\n"
        "[info] Input #0, wav, from 'a.wav':\n"
        "[info]   Duration: 00:00:02.00, bitrate: 705 kb/s\n"
        "[h264 @ 0x5555] [warning]   Stream #0:5: Video: h264, yuv420p, 10x10\n"
        "[info]   Stream #0:0: Audio: pcm_s16le ([1][0][0][0] / 0x0001), 44100 Hz, mono, s16, 705 kb/s\n"
        "[info] Output #0, mp4, to 'o.mp4':\n"
        "[info]   Stream #0:0: Video: h264, yuv420p, 64x64\n"
    )
    info = parse_dump(stderr, size=123)
    assert info.video is None and info.Format.NumStream == "1" and info.Format.Size == "123"
    assert info.Format.StartTime == "" and info.audio.StartTime == ""


@pytest.mark.parametrize(
    "stderr, reason",
    [
        ("[fatal] Error opening input files: Invalid data found when processing input\n", "Invalid data found"),
        (dump("Input #0, mp3, from 'x':"), "no duration"),
        (dump("Input #0, mp3, from 'x':", "  Duration: 00:00:01.00, bitrate: 1 kb/s"), "no audio or video stream"),
        (dump("Input #0, mp3, from 'x':", "  Stream #0:0: Audio: mp3, 44100 Hz, mono, fltp",
              "  Duration: 00:00:01.00, bitrate: 1 kb/s"), "imitates"),
        (dump("Input #0, mp3, from 'x':", "  Duration: 00:00:00.01, bitrate: 1 kb/s",
              "  Duration: 00:00:01.00, bitrate: 1 kb/s", "  Stream #0:0: Audio: mp3, 44100 Hz, mono, fltp"), "imitates"),
        (dump("Input #0, mp3, from 'x':", "  Duration: 00:00:01.00, bitrate: 1 kb/s",
              "  Stream #0:0: Audio: mp3, 44100 Hz, mono, fltp", "  Stream #0:0: Video: h264, yuv420p, 4x4"), "imitates"),
    ],
)
def test_unparsable_dumps(stderr, reason):
    with pytest.raises(ValueError, match=reason):
        parse_dump(stderr)
