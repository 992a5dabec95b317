"""Mosaics (blurred rectangles, MPS's MosaicSet) through real ffmpeg: the rectangle changes, over its
time range only, and nothing else does; placed from any corner, in pixels or percent; they also go
through a watermark's -filter_complex."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from mediaflow.media import ffmpeg_path, input_args
from mediaflow.media.commands import video_filter
from mediaflow.media.params import TranscodeParams
from mediaflow.media.watermark import WatermarkParams, overlay_graph
from pydantic import ValidationError
from support import Frames

pytestmark = pytest.mark.unit
WIDTH, HEIGHT, RATE = 320, 240, 10  # 2 s of testsrc2: frame 5 is at 0.5 s, frame 15 at 1.5 s


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory, make_media) -> Path:
    return make_media(tmp_path_factory.mktemp("mosaic") / "clip.mp4", "-f", "lavfi", "-i",
                      f"testsrc2=size={WIDTH}x{HEIGHT}:rate={RATE}", "-t", "2", "-c:v", "libx264", "-preset",
                      "ultrafast", "-pix_fmt", "yuv420p")


def frames(clip: Path, mosaic: list[dict], *, complex_graph: bool = False) -> Frames:
    params = TranscodeParams.model_validate({"Mosaic": mosaic})
    if complex_graph:  # as a transcode with watermarks runs it
        mark = WatermarkParams.model_validate({"Type": "Text", "Pos": "BottomLeft", "Text": {"Text": "x"}})
        graph = overlay_graph([mark], [None], base=video_filter(params), frame_size=(WIDTH, HEIGHT),
                              workdir=clip.parent)
        filters = ["-filter_complex", graph, "-map", "[vout]"]
    else:
        filters = ["-vf", video_filter(params)]
    cmd = [ffmpeg_path(), "-hide_banner", "-nostdin", "-loglevel", "error", *input_args(str(clip)), *filters,
           "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]
    return Frames(subprocess.run(cmd, capture_output=True, check=True, timeout=60).stdout, WIDTH, HEIGHT)


def test_a_mosaic_blurs_its_rectangle_over_its_time_range_only(clip: Path) -> None:
    plain = frames(clip, [])
    blurred = frames(clip, [{"XPos": "100px", "YPos": "60px", "Width": "80px", "Height": "40px",
                             "StartTime": 1, "EndTime": 2}])
    inside = blurred.changed(plain, 15, (100, 60, 180, 100))
    assert len(inside) > 0.3 * 80 * 40  # blurred: most of the rectangle's detail is gone
    assert blurred.changed(plain, 15) <= {(x, y) for x in range(100, 180) for y in range(60, 100)}
    assert not blurred.changed(plain, 5)  # before StartTime nothing is touched


def test_a_mosaic_placed_from_the_bottom_right_in_percent(clip: Path) -> None:
    plain = frames(clip, [])
    blurred = frames(clip, [{"CoordinateOrigin": "BottomRight", "XPos": "10%", "YPos": "0px", "Width": "25%",
                             "Height": "25%"}], complex_graph=True)
    box = (WIDTH - 32 - 80, HEIGHT - 60, WIDTH - 32, HEIGHT)  # 25 % of 320 x 240, 10 % of 320 from the right
    changed = blurred.changed(plain, 5)
    assert len(changed & {(x, y) for x in range(box[0], box[2]) for y in range(box[1], box[3])}) > 0.3 * 80 * 60
    outside = {(x, y) for (x, y) in changed if not (box[0] <= x < box[2] and box[1] <= y < box[3])}
    assert all(x < 40 and y > HEIGHT - 40 for x, y in outside)  # only the text watermark, bottom left


@pytest.mark.parametrize("region", [{"Width": "0px"}, {"XPos": "120%"}, {"Height": "ten"},
                                    {"StartTime": 3, "EndTime": 2}, {"CoordinateOrigin": "Center"}])
def test_a_region_that_cannot_be_drawn_is_refused(region: dict) -> None:
    with pytest.raises(ValidationError):
        TranscodeParams.model_validate({"Mosaic": [region]})
