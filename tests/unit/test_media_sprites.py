"""Time-point snapshots (ExtTimeOffsetSet), sprite sheets with their WebVTT index, and the task
units that write them (and animations) to S3, run against moto with real ffmpeg."""

import re
from pathlib import Path

import boto3
import mediaflow.pipeline.units
import pytest
import xmltodict
from mediaflow import aws
from mediaflow.exceptions import InvalidInputError
from mediaflow.media import (
    SnapshotParams,
    SpriteConfig,
    SpriteLayout,
    frame_times,
    probe,
    run_ffmpeg,
    snapshot_args,
    snapshot_times,
    sprite_args,
    sprite_webvtt,
)
from mediaflow.media.params import MAX_TIME_OFFSETS
from mediaflow.models import ObjectRef, UnitSpec
from mediaflow.pipeline.units import run_unit
from moto import mock_aws
from pydantic import ValidationError

pytestmark = pytest.mark.unit

SECONDS = 4.0  # the length of the `clip` fixture
CUE = re.compile(r"^(\d\d):(\d\d):(\d\d)\.(\d{3}) --> (\d\d):(\d\d):(\d\d)\.(\d{3})$")
XYWH = re.compile(r"^(?P<name>[^#]+)#xywh=(?P<x>\d+),(?P<y>\d+),(?P<w>\d+),(?P<h>\d+)$")


def sp(**fields) -> SnapshotParams:
    return SnapshotParams.model_validate(fields)


def sprite(columns: int = 3, lines: int = 2, **fields: str) -> dict:
    return {"Columns": str(columns), "Lines": str(lines), **fields}


def seconds(h: str, m: str, s: str, ms: str) -> float:
    return int(h) * 3600 + int(m) * 60 + int(s) + int(ms) / 1000


def parse_webvtt(text: str) -> list[tuple[float, float, dict[str, str]]]:
    """(start, end, {name, x, y, w, h}) per cue; asserts the layout a player expects."""
    blocks = text.strip().split("\n\n")
    assert blocks[0] == "WEBVTT"
    cues = []
    for block in blocks[1:]:
        timing, target = block.split("\n")
        times, fragment = CUE.match(timing), XYWH.match(target)
        assert times and fragment, block
        cues.append((seconds(*times.groups()[:4]), seconds(*times.groups()[4:]), fragment.groupdict()))
    return cues


@pytest.fixture(scope="module")
def clip(make_media, tmp_path_factory) -> Path:
    """4 s of a 320x240 test pattern at 25 fps, a key frame every second, no audio."""
    return make_media(tmp_path_factory.mktemp("sprites") / "clip.mp4",
                      "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-t", str(SECONDS),
                      "-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-keyint_min", "25", "-sc_threshold", "0")


def snapshots(src: Path, out: Path, p: SnapshotParams) -> tuple[list[Path], list[float]]:
    """Run snapshot_args; the images in order and the instants frame_times reads back."""
    times_file = out / "times.txt"
    run_ffmpeg(snapshot_args(str(src), str(out / f"snap-%d.{p.Format}"), p, duration=SECONDS,
                             times_file=str(times_file)), timeout=60)
    images = sorted(out.glob(f"snap-*.{p.Format}"), key=lambda f: int(f.stem.split("-")[1]))
    return images, frame_times(times_file.read_text(), p)


# ------------------------------------------------------------------ time-point snapshots
@pytest.mark.parametrize(
    "value, expected",
    [
        ("1s", ["1s"]),
        (" 3.5s, 10% ", ["3.5s", "10%"]),  # one element listing several
        (["0%", "100%", "0.25s"], ["0%", "100%", "0.25s"]),  # repeated elements
        ("", None),
    ],
)
def test_time_offsets_are_read_from_a_string_or_a_list(value, expected):
    assert sp(ExtTimeOffsetSet=value).ExtTimeOffsetSet == expected


def test_time_offsets_from_xml():
    xml = "<Snapshot><ExtTimeOffsetSet>1s</ExtTimeOffsetSet><ExtTimeOffsetSet>50%</ExtTimeOffsetSet></Snapshot>"
    assert SnapshotParams.model_validate(xmltodict.parse(xml)["Snapshot"]).ExtTimeOffsetSet == ["1s", "50%"]


@pytest.mark.parametrize(
    "item, message",
    [("abc", "not a time offset"), ("3.5", "not a time offset"), ("-1s", "not a time offset"),
     ("1e3s", "not a time offset"), ("120%", "at most 100%")],
)
def test_bad_time_offsets_are_refused_with_a_clear_message(item, message):
    with pytest.raises(ValidationError, match=message):
        sp(ExtTimeOffsetSet=["1s", item])


def test_too_many_time_offsets_are_refused():
    with pytest.raises(ValidationError):
        sp(ExtTimeOffsetSet=[f"{i}s" for i in range(MAX_TIME_OFFSETS + 1)])


@pytest.mark.parametrize(
    "offsets, expected",
    [
        (["1s", "50%"], [1, 2]),
        (["75%", "0.5s", "1s", "25%"], [0.5, 1, 3]),  # in time order, repeats once
        (["0%", "100%", "9s"], [0, 4]),  # clamped into the duration
    ],
)
def test_time_offsets_override_the_mode(offsets, expected):
    p = sp(ExtTimeOffsetSet=offsets, Mode="Average", Start="3", Count="7")  # Mode, Start and Count are ignored
    assert snapshot_times(p, SECONDS) == pytest.approx(expected)


def test_time_offset_args():
    args = snapshot_args("in.mp4", "s-%d.jpg", sp(ExtTimeOffsetSet=["1s", "50%"], Start="3"), duration=SECONDS)
    assert "-ss" not in args and "-skip_frame" not in args  # offsets are from the start of the file
    graph = args[args.index("-vf") + 1]
    assert graph.startswith("tpad=stop_mode=clone:stop_duration=4,select='gte(t,1)*")
    assert args[args.index("-frames:v") + 1] == "2" and args[args.index("-fps_mode") + 1] == "vfr"


def test_time_offset_snapshots_are_taken_at_those_times(clip, tmp_path):
    images, times = snapshots(clip, tmp_path, sp(ExtTimeOffsetSet=["50%", "1s", "100%"], Width="160"))
    assert len(images) == 3 and times == pytest.approx([1, 2, 4])  # 100%: the last frame, held to the end
    assert (probe(str(images[0])).width, probe(str(images[0])).height) == (160, 120)


def test_frame_times_of_key_frames_after_start(clip, tmp_path):
    _, times = snapshots(clip, tmp_path, sp(Mode="KeyFrame", Start="0.5"))
    assert times == pytest.approx([1, 2, 3])  # source instants, though ffmpeg counted from the seek


# ------------------------------------------------------------------ sprite parameters
def test_sprite_config_from_xml_with_defaults():
    xml = """<Snapshot><Mode>Interval</Mode><TimeInterval>1</TimeInterval>
      <SnapshotOutMode>snapshotandsprite</SnapshotOutMode>
      <SpriteSnapshotConfig><CellWidth>80</CellWidth><CellHeight></CellHeight><Color>#FFaa00</Color>
        <Columns>4</Columns><Lines>3</Lines></SpriteSnapshotConfig></Snapshot>"""
    p = SnapshotParams.model_validate(xmltodict.parse(xml)["Snapshot"])
    assert p.SnapshotOutMode == "SnapshotAndSprite" and p.wants_snapshots and p.wants_sprites
    c = p.SpriteSnapshotConfig
    assert (c.CellWidth, c.CellHeight, c.Padding, c.Margin) == (80, None, 0, 0)
    assert (c.Color, c.Columns, c.Lines) == ("0xFFaa00", 4, 3)
    assert SnapshotParams.model_validate(p.model_dump(mode="json", exclude_none=True)) == p
    plain = sp()
    assert plain.SnapshotOutMode == "OnlySnapshot" and plain.SpriteSnapshotConfig is None and not plain.wants_sprites
    assert SpriteConfig().Color == "black"


@pytest.mark.parametrize(
    "config",
    [
        sprite(CellWidth="7"), sprite(CellHeight="4097"), sprite(Padding="-1"), sprite(Padding="1025"),
        sprite(Margin="1025"), sprite(columns=0), sprite(lines=10001),
        sprite(Color="red:padding=9"), sprite(Color="#12345"), sprite(Color="red@0.5"),
        sprite(columns=100, CellWidth="200"),  # a 20000 px wide sheet
        {"Columns": "3"}, {"Lines": "2"}, {},  # sprites need both
    ],
)
def test_invalid_sprite_configs_are_refused(config):
    with pytest.raises(ValidationError):
        sp(TimeInterval="1", SnapshotOutMode="OnlySprite", SpriteSnapshotConfig=config)


def test_sprites_need_a_config_but_snapshots_do_not():
    with pytest.raises(ValidationError, match="needs SpriteSnapshotConfig with Columns and Lines"):
        sp(SnapshotOutMode="SnapshotAndSprite")
    with pytest.raises(ValidationError):
        sp(SnapshotOutMode="SpriteOnly")
    assert sp(SpriteSnapshotConfig={"Columns": "3"}).SpriteSnapshotConfig.Lines is None  # unused: fine


def test_layout_places_cells_row_by_row():
    layout = SpriteConfig(Columns=3, Lines=2, CellWidth=40, CellHeight=30, Padding=4, Margin=6).layout(320, 240)
    assert layout.per_sheet == 6 and layout.sheet_size == (3 * 40 + 2 * 4 + 2 * 6, 2 * 30 + 4 + 2 * 6)
    assert [layout.place(k) for k in (0, 1, 3, 5, 6)] == [(0, 6, 6), (0, 50, 6), (0, 6, 40), (0, 94, 40), (1, 6, 6)]
    assert (layout.sheets(6), layout.sheets(7)) == (1, 2)


@pytest.mark.parametrize(
    "cells, frame, expected",
    [({}, (320, 240), (320, 240)), ({"CellWidth": 80}, (320, 240), (80, 60)),
     ({"CellHeight": 90}, (320, 180), (160, 90)), ({"CellWidth": 64, "CellHeight": 64}, (320, 240), (64, 64))],
)
def test_cell_size_defaults_to_the_snapshots_keeping_the_aspect(cells, frame, expected):
    layout = SpriteConfig(Columns=2, Lines=2, **cells).layout(*frame)
    assert (layout.cell_width, layout.cell_height) == expected


def test_sheet_from_snapshot_size_too_large_is_refused():
    with pytest.raises(InvalidInputError, match="more than 16384 px"):
        SpriteConfig(Columns=20, Lines=1).layout(1920, 1080)


# ------------------------------------------------------------------ sheets and their index
def test_webvtt_index():
    layout = SpriteLayout(columns=2, lines=1, cell_width=40, cell_height=30, padding=2, margin=1)
    text = sprite_webvtt([0, 1.5, 3, 3661.25], 3700, ["a/sheet 0.jpg", "sheet-1.jpg"], layout)
    assert text.startswith("WEBVTT\n\n")
    assert text.split("\n\n")[1:3] == ["00:00:00.000 --> 00:00:01.500\na/sheet%200.jpg#xywh=1,1,40,30",
                                       "00:00:01.500 --> 00:00:03.000\na/sheet%200.jpg#xywh=43,1,40,30"]
    assert parse_webvtt(text)[-1] == (3661.25, 3700, {"name": "sheet-1.jpg", "x": "43", "y": "1", "w": "40", "h": "30"})
    with pytest.raises(ValueError, match="need 2 sheets"):
        sprite_webvtt([0, 1, 2], 3, ["only-one.jpg"], layout)


def test_sprite_args():
    layout = SpriteLayout(3, 2, 40, 30, 4, 6)
    args = sprite_args("/w/snap-%d.png", "/w/sprite-%d.jpg", SpriteConfig(Columns=3, Lines=2, Color="white"), layout)
    i = args.index("-i")
    assert args[i - 4:i + 2] == ["-start_number", "0", "-protocol_whitelist", "file", "-i", "/w/snap-%d.png"]
    assert args[args.index("-vf") + 1] == "scale=40:30,setsar=1,tile=3x2:padding=4:margin=6:color=white"
    assert args[-5:] == ["-start_number", "0", "-f", "image2", "/w/sprite-%d.jpg"]


def test_ten_frames_make_two_sheets_and_an_index(clip, tmp_path):
    config = {"CellWidth": "64", "CellHeight": "48", "Padding": "3", "Margin": "5", "Color": "red"}
    p = sp(TimeInterval="0.4", Width="160", SnapshotOutMode="OnlySprite", SpriteSnapshotConfig=sprite(3, 2, **config))
    images, times = snapshots(clip, tmp_path, p)
    assert len(images) == 10 and times == pytest.approx([0.4 * k for k in range(10)])
    config = p.SpriteSnapshotConfig
    layout = config.layout(160, 120)
    run_ffmpeg(sprite_args(str(tmp_path / "snap-%d.jpg"), str(tmp_path / "sprite-%d.jpg"), config, layout), timeout=60)
    sheets = sorted(tmp_path.glob("sprite-*.jpg"))
    assert [s.name for s in sheets] == ["sprite-0.jpg", "sprite-1.jpg"]
    for sheet in sheets:
        info = probe(str(sheet))
        assert (info.width, info.height) == (3 * 64 + 2 * 3 + 2 * 5, 2 * 48 + 3 + 2 * 5)

    cues = parse_webvtt(sprite_webvtt(times, SECONDS, [s.name for s in sheets], layout))
    assert len(cues) == 10
    assert all(start < end for start, end, _ in cues) and [c[0] for c in cues] == sorted(c[0] for c in cues)
    assert cues[-1][1] == SECONDS
    width, height = layout.sheet_size
    for k, (_, _, cell) in enumerate(cues):
        x, y, w, h = (int(cell[key]) for key in "xywh")
        assert cell["name"] == sheets[k // 6].name
        assert x + w <= width and y + h <= height and (w, h) == (64, 48)


# ------------------------------------------------------------------ task units against moto S3
IN, OUT = "media-in", "media-out"


@pytest.fixture
def progress(monkeypatch) -> list[str]:
    """Progress goes to the job record in DynamoDB, which these tests do not build: update_job is
    replaced by a list of the jobs it was called for."""
    calls: list[str] = []
    monkeypatch.setattr(mediaflow.pipeline.units, "update_job", lambda job_id, change: calls.append(job_id))
    return calls


@pytest.fixture
def s3(monkeypatch, clip, progress):
    """Empty in-memory buckets, the clip uploaded to the input one."""
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    aws.reset()
    with mock_aws():
        client = boto3.client("s3")
        for bucket in (IN, OUT):
            client.create_bucket(Bucket=bucket)
        client.upload_file(str(clip), IN, "uploads/clip.mp4")
        yield client
    aws.reset()


def unit(kind: str, key: str, params: dict, sprite_key: str | None = None) -> UnitSpec:
    return UnitSpec(execution_id="i1", job_id="j1", kind=kind, input=ObjectRef(bucket=IN, key="uploads/clip.mp4"),
                    output=ObjectRef(bucket=OUT, key=key), params=params, duration=SECONDS,
                    sprite_output=ObjectRef(bucket=OUT, key=sprite_key) if sprite_key else None)


def keys(client) -> list[str]:
    return sorted(obj["Key"] for obj in client.list_objects_v2(Bucket=OUT).get("Contents", []))


def test_animation_unit(s3, progress):
    params = {"Container": {"Format": "gif"}, "Video": {"Width": "160", "AnimateFramesPerSecond": "1"}}
    result = run_unit(unit("animation", "anim/clip.gif", params))
    assert result.ok and [o.key for o in result.outputs] == ["anim/clip.gif"]
    info = result.media_info
    assert info["Format"]["FormatName"] == "gif" and info["Stream"]["Video"][0]["Width"] == "160"
    head = s3.head_object(Bucket=OUT, Key="anim/clip.gif")
    assert head["ContentType"] == "image/gif" and head["ContentLength"] == result.outputs[0].size
    assert progress == ["j1"]  # the unit's share, once it is done


@pytest.mark.parametrize("mode, snaps", [("SnapshotAndSprite", 4), ("OnlySprite", 0)])
def test_snapshot_unit_with_sprites(s3, mode, snaps):
    params = sp(TimeInterval="1", Width="160", SnapshotOutMode=mode,
                SpriteSnapshotConfig=sprite(2, 1, CellWidth="80")).model_dump(mode="json", exclude_none=True)
    result = run_unit(unit("snapshot", "snap/clip-${Number}.jpg", params, sprite_key="snap/sprite/clip-${Number}.jpg"))
    assert result.ok, result.message
    expected = ([f"snap/clip-{i}.jpg" for i in range(snaps)]
                + ["snap/sprite/clip-0.jpg", "snap/sprite/clip-1.jpg", "snap/sprite/clip-index.vtt"])
    assert [o.key for o in result.outputs] == expected  # snapshots, then sheets, then the index
    assert keys(s3) == sorted(expected)
    vtt = s3.get_object(Bucket=OUT, Key="snap/sprite/clip-index.vtt")
    assert vtt["ContentType"] == "text/vtt"
    cues = parse_webvtt(vtt["Body"].read().decode())
    assert [(start, cell["name"], cell["x"]) for start, _, cell in cues] == [
        (0, "clip-0.jpg", "0"), (1, "clip-0.jpg", "80"), (2, "clip-1.jpg", "0"), (3, "clip-1.jpg", "80")]
    assert cues[0][2]["h"] == "60"  # 80 wide keeps the 160x120 snapshots' aspect


def test_sprites_without_a_sprite_output_fail_the_job_and_write_nothing(s3):
    params = sp(TimeInterval="1", SnapshotOutMode="SnapshotAndSprite", SpriteSnapshotConfig=sprite(2, 2)).model_dump()
    result = run_unit(unit("snapshot", "snap/clip-${Number}.jpg", params))
    assert not result.ok and result.code == "InvalidArgument" and "SpriteObject" in result.message
    assert keys(s3) == []


def test_a_failed_upload_removes_what_the_unit_had_written(s3, monkeypatch):
    upload = mediaflow.pipeline.units.storage.upload

    def flaky(path, bucket, key, content_type=None):
        if key.endswith(".vtt"):
            raise OSError("connection reset")
        return upload(path, bucket, key, content_type)

    monkeypatch.setattr(mediaflow.pipeline.units.storage, "upload", flaky)
    params = sp(TimeInterval="1", SnapshotOutMode="SnapshotAndSprite", SpriteSnapshotConfig=sprite(2, 2)).model_dump()
    with pytest.raises(OSError):
        run_unit(unit("snapshot", "snap/clip-${Number}.jpg", params, sprite_key="snap/sprite-${Number}.jpg"))
    assert keys(s3) == []
