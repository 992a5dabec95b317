"""Queue guardrails (input size and duration, objects a job writes) and probe_input's refusal of
inputs that are empty, broken, not media, or that refer to other files."""

from __future__ import annotations

import importlib
import random
import re
from datetime import datetime, timezone

import pytest
from mediaflow.control.guardrails import check_input, check_outputs, expected_outputs
from mediaflow.exceptions import LimitExceededError, MediaError
from mediaflow.media import (
    AnimationParams,
    FormatInfo,
    MediaInfo,
    SnapshotParams,
    StreamInfo,
    TranscodeParams,
    probe,
)
from mediaflow.media.params import MAX_SNAPSHOTS, ConcatParams, SegmentParams
from mediaflow.media.probe import probe_input
from mediaflow.models import Queue

pytestmark = pytest.mark.unit
probe_module = importlib.import_module("mediaflow.media.probe")  # the package's `probe` is the function
GB = 1024**3


def queue(**limits: float) -> Queue:
    moment = datetime(2024, 1, 1, tzinfo=timezone.utc)
    return Queue(QueueId="p0123456789abcdef", Name="queue-1", BucketId="b", Feature="media",
                 CreateTime=moment, UpdateTime=moment, **limits)


def lasting(seconds: float) -> MediaInfo:
    return MediaInfo(Format=FormatInfo(Duration=f"{seconds:.6f}"), Stream=StreamInfo())


# ------------------------------------------------------------------ input limits
def test_an_input_over_the_size_limit_is_refused_naming_the_limit_value_and_queue() -> None:
    with pytest.raises(LimitExceededError) as refused:
        check_input(queue(MaxInputSize=GB), int(3.2 * GB), lasting(4))
    assert refused.value.code == "InvalidInput.LimitExceeded"
    assert refused.value.message == ("the input is 3.2 GB, more than queue p0123456789abcdef allows "
                                     "(MaxInputSize 1 GB)")


def test_sizes_that_round_alike_are_given_in_bytes() -> None:
    with pytest.raises(LimitExceededError, match=r"is 1073741825 bytes, .*\(MaxInputSize 1073741824 bytes\)"):
        check_input(queue(MaxInputSize=GB), GB + 1, lasting(4))


def test_an_input_over_the_duration_limit_is_refused() -> None:
    with pytest.raises(LimitExceededError) as refused:
        check_input(queue(MaxInputDuration=3600), 1000, lasting(7265.5))
    assert refused.value.message == ("the input lasts 7265.5 s (2 h 1 min), more than queue p0123456789abcdef "
                                     "allows (MaxInputDuration 3600 s (1 h))")
    with pytest.raises(LimitExceededError, match=r"lasts 4 s, .*\(MaxInputDuration 2.5 s\)"):
        check_input(queue(MaxInputDuration=2.5), 1000, lasting(4))


def test_inputs_at_the_limits_or_under_no_limit_pass() -> None:
    check_input(queue(MaxInputSize=GB, MaxInputDuration=4), GB, lasting(4))
    check_input(queue(MaxInputSize=0, MaxInputDuration=0), 100 * GB, lasting(10**6))


def test_the_default_limits_are_generous() -> None:
    check_input(queue(), int(4.5 * GB), lasting(6 * 3600))
    check_outputs(queue(), MAX_SNAPSHOTS)


def test_the_default_size_limit_leaves_lambdas_tmp_room_for_twice_the_input() -> None:
    # Plan and Unit have 10 GiB of /tmp; Plan holds an input and its cut pieces
    with pytest.raises(LimitExceededError, match=r"\(MaxInputSize 4831838208 bytes\)"):
        check_input(queue(), int(4.5 * GB) + 1, lasting(60))


def test_a_job_writing_more_objects_than_allowed_is_refused() -> None:
    with pytest.raises(LimitExceededError) as refused:
        check_outputs(queue(MaxOutputsPerJob=5), 6)
    assert refused.value.message == ("the job would write 6 objects, more than queue p0123456789abcdef allows "
                                     "(MaxOutputsPerJob 5)")
    check_outputs(queue(MaxOutputsPerJob=5), 5)
    check_outputs(queue(MaxOutputsPerJob=0), 10**6)


# ------------------------------------------------------------------ objects a job writes
def snapshot(**fields) -> SnapshotParams:
    return SnapshotParams.model_validate(fields)


SPRITES = {"Columns": 2, "Lines": 2}


@pytest.mark.parametrize(
    ("tag", "params", "expected"),
    [
        ("Transcode", TranscodeParams(), 1),
        ("Transcode", TranscodeParams.model_validate({"Container": {"Format": "hls"}}), 1 + 3),  # 5 s segments
        ("Transcode", TranscodeParams.model_validate({"Container": {"Format": "hls"},
                                                      "TimeInterval": {"Start": 2, "Duration": 5}}), 1 + 1),
        ("Animation", AnimationParams(), 1),
        ("Concat", ConcatParams.model_validate({"ConcatFragment": [{"Url": "a.mp4"}]}), 1),
        ("MediaInfo", TranscodeParams(), 0),
        ("Snapshot", snapshot(), 1),  # one frame
        ("Snapshot", snapshot(Count=3), 3),  # three consecutive frames
        ("Snapshot", snapshot(TimeInterval=1), 12),
        ("Snapshot", snapshot(TimeInterval=5, Start=1), 3),
        ("Snapshot", snapshot(Mode="Average", Count=7), 7),
        ("Snapshot", snapshot(Mode="KeyFrame", Count=9), 9),
        ("Snapshot", snapshot(Mode="KeyFrame"), MAX_SNAPSHOTS),  # key frames are only known once decoded
        ("Snapshot", snapshot(ExtTimeOffsetSet=["1s", "50%", "1s"]), 2),
        ("Snapshot", snapshot(TimeInterval=1, Start=20), 0),  # past the end: the unit fails, nothing written
        ("Snapshot", snapshot(TimeInterval=2, SnapshotOutMode="SnapshotAndSprite", SpriteSnapshotConfig=SPRITES),
         6 + 2 + 1),  # images, sheets of 4, the WebVTT index
        ("Snapshot", snapshot(TimeInterval=2, SnapshotOutMode="OnlySprite", SpriteSnapshotConfig=SPRITES), 2 + 1),
        ("Segment", SegmentParams(Duration=5), 3),
        ("Segment", SegmentParams(Duration=4), 3),
        ("Segment", SegmentParams(Duration=5, Format="hls"), 3 + 1),  # and the playlist
        ("Segment", SegmentParams(Duration=2, StartTime=3, EndTime=7), 2),
        ("Segment", SegmentParams(Duration=10, EndTime=60), 2),  # EndTime past the end
        ("Segment", SegmentParams(Duration=100), 1),
    ],
)
def test_expected_outputs(tag, params, expected) -> None:
    assert expected_outputs(tag, params, lasting(12)) == expected


def test_hls_segments_follow_hls_ts_time() -> None:
    params = TranscodeParams.model_validate({"Container": {"Format": "hls"}, "Video": {"HlsTsTime": 2}})
    assert expected_outputs("Transcode", params, lasting(12)) == 1 + 6


# ------------------------------------------------------------------ probe_input
@pytest.fixture
def clip(make_media, tmp_path):
    """1 s of small video and audio, index at the end (as ffmpeg writes mp4 by default)."""
    return make_media(tmp_path / "clip.mp4", "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=10",
                      "-f", "lavfi", "-i", "sine", "-t", "1", "-c:v", "libx264", "-preset", "ultrafast",
                      "-c:a", "aac")


def test_a_media_file_is_described_as_probe_describes_it(clip) -> None:
    assert probe_input(str(clip)) == probe(str(clip))


def written(tmp_path, name: str, content: bytes | str) -> str:
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return str(path)


PLAYLIST = ("#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\n/etc/passwd\n#EXTINF:10,\nfile:///etc/passwd\n"
            "#EXT-X-ENDLIST\n")
MPD = ('<?xml version="1.0"?>\n<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static">'
       "<Period><AdaptationSet><Representation><BaseURL>file:///etc/passwd</BaseURL>"
       "</Representation></AdaptationSet></Period></MPD>\n")
SDP = "v=0\no=- 0 0 IN IP4 127.0.0.1\ns=x\nc=IN IP4 127.0.0.1\nt=0 0\nm=video 5004 RTP/AVP 96\n"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("in.m3u8", PLAYLIST, "the input is an HLS playlist, which refers to other files"),
        ("in.mp4", "\ufeff\n" + PLAYLIST, "the input is an HLS playlist"),  # whatever its name, after a BOM
        ("in.txt", "ffconcat version 1.0\nfile '/etc/passwd'\n", "the input is an ffconcat list"),
        ("in.mpd", MPD, "the input is an XML document (a DASH or IMF manifest, for instance)"),
        ("in.sdp", SDP, "the input is an SDP session description"),
        ("in.avs", 'Import("/etc/passwd")\n', "the input is an AviSynth script"),
    ],
    ids=["hls", "hls-after-bom", "ffconcat", "dash", "sdp", "avisynth"],
)
def test_inputs_that_refer_to_other_files_are_refused_before_ffmpeg_opens_them(
        tmp_path, monkeypatch, name, content, message) -> None:
    monkeypatch.setattr(probe_module, "probe", lambda *args, **kwargs: pytest.fail("ffmpeg was run"))
    with pytest.raises(MediaError, match=re.escape(message)) as refused:
        probe_input(written(tmp_path, name, content))
    assert refused.value.code == "InvalidMedia"


def test_a_playlist_the_sniffing_misses_is_refused_by_its_format(clip, make_media, tmp_path, monkeypatch) -> None:
    make_media(tmp_path / "seg.ts", "-i", str(clip), "-c", "copy")
    playlist = written(tmp_path, "in.m3u8", "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\nseg.ts\n#EXT-X-ENDLIST\n")
    monkeypatch.setattr(probe_module, "_REFERRING_TEXT", ())
    with pytest.raises(MediaError, match="read by ffmpeg's hls demuxer, which reads other files"):
        probe_input(playlist)


def test_broken_and_non_media_inputs_are_refused_with_the_reason(clip, tmp_path) -> None:
    data = clip.read_bytes()
    cases = {
        "empty.mp4": (b"", "^the input is empty \\(0 bytes\\)$"),
        "truncated.mp4": (data[: len(data) // 2], "not a media file ffmpeg can read: .*moov atom not found"),
        "random.mp4": (random.Random(0).randbytes(65536), "not a media file ffmpeg can read: Invalid data found"),
        "notes.txt": ("just some notes,\nnothing to watch\n", "not a media file ffmpeg can read: Invalid data found"),
        "subtitles.srt": ("1\n00:00:00,000 --> 00:00:01,000\nhello\n", "it has no audio or video stream"),
    }
    for name, (content, message) in cases.items():
        with pytest.raises(MediaError, match=message) as refused:
            probe_input(written(tmp_path, name, content))
        assert refused.value.code == "InvalidMedia", name


def test_a_missing_file_is_an_internal_error(tmp_path) -> None:
    with pytest.raises(MediaError) as refused:
        probe_input(str(tmp_path / "gone.mp4"))
    assert refused.value.code == "InternalError"
