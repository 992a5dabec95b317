"""Watermarks: the parameter models, the bundled fonts, and the filter graph, run through the real
ffmpeg on a small clip; frames are read back as raw RGB and compared with the unmarked picture."""

import subprocess
from pathlib import Path

import pytest
from mediaflow.exceptions import InvalidInputError, MediaError
from mediaflow.media import ffmpeg_path, input_args, run_ffmpeg
from mediaflow.media.watermark import (
    MAX_WATERMARKS,
    WatermarkParams,
    font_file,
    image_input_args,
    overlay_graph,
)
from pydantic import ValidationError
from support import Frames

pytestmark = pytest.mark.unit

WIDTH, HEIGHT, RATE = 320, 240, 10  # media["clip"]: 2 s of testsrc2 in grey, so that red stands out
RED = (255, 0, 0)


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory, make_media) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("watermark")
    return {
        "clip": make_media(folder / "clip.mp4", "-f", "lavfi", "-i",
                           f"testsrc2=size={WIDTH}x{HEIGHT}:rate={RATE},hue=s=0",
                           "-t", "2", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"),
        "red": make_media(folder / "red.png", "-f", "lavfi", "-i", "color=red:size=64x32", "-frames:v", "1"),
    }


def render(media: dict[str, Path], tmp_path: Path, marks: list[WatermarkParams], *, base: str | None = None,
           size: tuple[int, int] = (WIDTH, HEIGHT)) -> Frames:
    """The clip through overlay_graph, every image mark reading red.png as its own input."""
    extra: list[str] = []
    inputs: list[int | None] = []
    for mark in marks:
        if mark.Type == "Image":
            extra += image_input_args(str(media["red"]))
            inputs.append(1 + sum(i is not None for i in inputs))
        else:
            inputs.append(None)
    graph = overlay_graph(marks, inputs, base=base, frame_size=size, workdir=tmp_path)
    cmd = [ffmpeg_path(), "-hide_banner", "-nostdin", "-loglevel", "error", *input_args(str(media["clip"])), *extra,
           "-filter_complex", graph, "-map", "[vout]", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]
    done = subprocess.run(cmd, capture_output=True, check=True, timeout=60)
    return Frames(done.stdout, *size)


@pytest.fixture(scope="module")
def plain(media: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Frames:
    return render(media, tmp_path_factory.mktemp("plain"), [])


def text(**fields) -> WatermarkParams:
    body = {"Text": "MEDIAFLOW", "FontSize": "32", "FontColor": "0xFFFFFF"}
    body.update(fields.pop("Text", {}))
    return WatermarkParams.model_validate({"Type": "Text", "Text": body, **fields})


def image(**fields) -> WatermarkParams:
    body = {"Url": "red.png", "Mode": "Proportion", "Width": "25"}
    body.update(fields.pop("Image", {}))
    return WatermarkParams.model_validate({"Type": "Image", "Image": body, **fields})


def bounds(pixels: set[tuple[int, int]]) -> tuple[int, int, int, int]:
    xs, ys = [x for x, _ in pixels], [y for _, y in pixels]
    return min(xs), min(ys), max(xs) + 1, max(ys) + 1


def near(actual: tuple[int, ...], expected: tuple[float, ...], tolerance: float = 12) -> bool:
    return all(abs(a - e) <= tolerance for a, e in zip(actual, expected))


# ------------------------------------------------------------------ the picture
def test_text_at_top_left(media, plain, tmp_path):
    marked = render(media, tmp_path, [text(Pos="TopLeft", Dx="10", Dy="10")])
    drawn = marked.changed(plain, 0)
    x0, y0, x1, y1 = bounds(drawn)
    # the first glyph's side bearing leaves a few px; the line's top is the font's ascent, which is
    # about a fifth of the size above the capitals
    assert 10 <= x0 <= 14 and 10 <= y0 <= 18
    assert 150 < x1 < 260 and y1 < 50  # nine letters at 32 px, one line
    assert len(drawn) > 500
    assert not marked.changed(plain, 0, (0, 100, WIDTH, HEIGHT))  # far from the text: untouched
    # the text is read from a file of the work folder, never written into the graph
    assert (tmp_path / "watermark-0.txt").read_text() == "MEDIAFLOW"

    corner = render(media, tmp_path, [text(Pos="BottomRight", Dx="10", Dy="10")])
    x0, y0, x1, y1 = bounds(corner.changed(plain, 0))
    # the line box's far corner: the box reaches the font's descent, below capitals without descenders
    assert WIDTH - 14 <= x1 <= WIDTH - 10 and HEIGHT - 18 <= y1 <= HEIGHT - 10
    assert not corner.changed(plain, 0, (0, 0, WIDTH, 150))


def test_image_at_bottom_right_sized_in_proportion(media, plain, tmp_path):
    marked = render(media, tmp_path, [image(Pos="BottomRight")])
    # 25 % of 320 px wide; the 64x32 image keeps its 2:1 aspect; flush with the corner
    assert bounds(marked.changed(plain, 0)) == (WIDTH - 80, HEIGHT - 40, WIDTH, HEIGHT)
    for x, y in ((WIDTH - 78, HEIGHT - 38), (WIDTH - 40, HEIGHT - 20), (WIDTH - 3, HEIGHT - 3)):
        assert near(marked.pixel(0, x, y), RED)
    assert not marked.changed(plain, 0, (0, 0, WIDTH - 82, HEIGHT))


def test_relative_offsets_and_fixed_size(media, plain, tmp_path):
    mark = image(Pos="TopLeft", LocMode="Relativity", Dx="10", Dy="20",
                 Image={"Mode": "Fixed", "Width": "40", "Height": "20"})
    marked = render(media, tmp_path, [mark])
    assert bounds(marked.changed(plain, 0)) == (32, 48, 72, 68)  # 10 % of 320, 20 % of 240

    right = render(media, tmp_path, [image(Pos="Right", LocMode="Relativity", Dx="5", Image={"Width": "10"})])
    # Right column: 5 % from the right edge; middle row: centred (32x16 image)
    assert bounds(right.changed(plain, 0)) == (WIDTH - 16 - 32, (HEIGHT - 16) // 2, WIDTH - 16, (HEIGHT + 16) // 2)


def test_half_transparent_image_blends(media, plain, tmp_path):
    mark = image(Pos="Center", Image={"Mode": "Original", "Transparency": "50"})
    marked = render(media, tmp_path, [mark])
    x0, y0 = (WIDTH - 64) // 2, (HEIGHT - 32) // 2  # the 64x32 image as it is, centred
    assert bounds(marked.changed(plain, 0)) == (x0, y0, x0 + 64, y0 + 32)
    for x, y in ((WIDTH // 2 - 20, HEIGHT // 2), (WIDTH // 2 + 20, HEIGHT // 2 + 8)):
        under = plain.pixel(0, x, y)
        assert near(marked.pixel(0, x, y), tuple((r + u) / 2 for r, u in zip(RED, under)), tolerance=16)
        assert not near(marked.pixel(0, x, y), RED, tolerance=40)


def test_half_transparent_text(media, tmp_path, make_media):
    black = make_media(tmp_path / "black.mp4", "-f", "lavfi", "-i", f"color=black:size={WIDTH}x{HEIGHT}:rate={RATE}",
                       "-t", "0.5", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv444p")
    marked = render({**media, "clip": black}, tmp_path, [text(Pos="TopLeft", Text={"FontSize": "60",
                                                                                  "Transparency": "50"})])
    brightest = max(max(marked.pixel(0, x, y)) for y in range(0, 80) for x in range(0, 200))
    assert 110 <= brightest <= 145  # white at 50 % over black


def test_time_window(media, plain, tmp_path):
    marked = render(media, tmp_path, [image(Pos="TopLeft", StartTime="1", EndTime="1.5")])
    for n, shown in ((5, False), (9, False), (11, True), (14, True), (16, False), (19, False)):  # frame n at n/10 s
        assert bool(marked.changed(plain, n, (0, 0, 80, 40))) is shown, n

    after = render(media, tmp_path, [image(Pos="TopLeft", StartTime="1")])
    assert not after.changed(plain, 5) and after.changed(plain, 19)
    before = render(media, tmp_path, [image(Pos="TopLeft", EndTime="1")])
    assert before.changed(plain, 5) and not before.changed(plain, 19)


def test_three_marks_after_scaling(media, tmp_path):
    size = (160, 120)
    plain_small = render(media, tmp_path, [], base="scale=160:120", size=size)
    marks = [text(Pos="TopLeft", Text={"FontSize": "16"}), image(Pos="BottomRight"),
             image(Pos="Center", Image={"Mode": "Fixed", "Width": "", "Height": "10"})]
    marked = render(media, tmp_path, marks, base="scale=160:120", size=size)
    assert marked.width == 160 and len(marked[0]) == 160 * 120 * 3
    assert marked.changed(plain_small, 0, (0, 0, 80, 24))  # the text
    assert bounds(marked.changed(plain_small, 0, (100, 90, 160, 120))) == (120, 100, 160, 120)  # 25 % of 160
    assert bounds(marked.changed(plain_small, 0, (40, 40, 120, 80))) == (70, 55, 90, 65)  # 20x10, centred
    assert not marked.changed(plain_small, 0, (100, 0, 160, 40))  # top right: nothing there


def test_text_stays_out_of_the_graph(media, plain, tmp_path):
    hostile = "a'b:c[d];e,f\\g %{localtime} [vout]"
    mark = text(Pos="Bottom", Text={"Text": hostile, "FontType": "simsun.ttc", "FontSize": "12"})
    graph = overlay_graph([mark], [None], base=None, frame_size=(WIDTH, HEIGHT), workdir=tmp_path)
    assert "localtime" not in graph and graph.count("[vout]") == 1
    assert (tmp_path / "watermark-0.txt").read_text() == hostile
    assert render(media, tmp_path, [mark]).changed(plain, 0, (0, HEIGHT - 30, WIDTH, HEIGHT))


def test_image_input_takes_images_only(media, tmp_path):
    mark = image(Pos="TopLeft")
    graph = overlay_graph([mark], [1], base=None, frame_size=(WIDTH, HEIGHT), workdir=tmp_path)
    args = [*input_args(str(media["clip"])), *image_input_args(str(media["clip"])),  # a video as the "image"
            "-filter_complex", graph, "-map", "[vout]", "-frames:v", "1", "-f", "null", "-"]
    with pytest.raises(MediaError):
        run_ffmpeg(args, timeout=30)


# ------------------------------------------------------------------ fonts
def test_font_files(monkeypatch, tmp_path):
    assert Path(font_file("arial.ttf")).name == "DejaVuSans.ttf"
    assert Path(font_file("Helvetica.dfont")).name == "DejaVuSans.ttf"
    assert Path(font_file("SIMSUN.TTC")).name == "DejaVuSerif.ttf"
    assert Path(font_file("ariblk.ttf")).name == "DejaVuSans-Bold.ttf"
    assert Path(font_file("nothing-like-it.otf")).name == "DejaVuSans.ttf"
    assert Path(font_file("arial.ttf")).parent == Path(ffmpeg_path()).parent.parent / "fonts"

    monkeypatch.setenv("FONT_DIR", str(tmp_path))
    with pytest.raises(MediaError, match="missing"):
        font_file("arial.ttf")
    (tmp_path / "DejaVuSerif.ttf").write_bytes(b"")
    assert font_file("simkai.ttf") == str(tmp_path / "DejaVuSerif.ttf")


# ------------------------------------------------------------------ the parameters
def test_parameters_from_xml_strings():
    mark = WatermarkParams.model_validate({
        "Type": "text", "Pos": "bottomRIGHT", "LocMode": "relativity", "Dx": "12.5", "Dy": "", "StartTime": "0.5",
        "Text": {"Text": "hi", "FontSize": "24", "FontColor": "#00ff7f", "Transparency": "80"},
        "Image": {"Url": "ignored.png"},
    })
    assert (mark.Type, mark.Pos, mark.LocMode, mark.Dx, mark.Dy) == ("Text", "BottomRight", "Relativity", 12.5, 0)
    assert mark.Text and mark.Text.FontColor == "0x00FF7F" and mark.Text.FontSize == 24
    assert mark.Image is None  # the other kind is dropped: no image is fetched for a text mark
    assert WatermarkParams.model_validate(mark.model_dump()) == mark


@pytest.mark.parametrize("fields, message", [
    ({"Type": "Image"}, "needs Image"),
    ({"Type": "Text", "Text": None, "Image": {"Url": "a.png"}}, "needs Text"),
    ({"Type": "Video"}, "watermark type"),
    ({"Pos": "Middle"}, "watermark position"),
    ({"Text": {"Text": "x", "FontColor": "red"}}, "FontColor"),
    ({"Text": {"Text": "x", "FontColor": "0xFFF"}}, "FontColor"),
    ({"Text": {"Text": "x", "FontSize": "4"}}, "FontSize"),
    ({"Text": {"Text": "x" * 65}}, "Text"),
    ({"Text": {"Text": "two\nlines"}}, "control characters"),
    ({"LocMode": "Relativity", "Dx": "101"}, "Dx must be in \\[0, 100\\]"),
    ({"Dy": "4097"}, "Dy must be in \\[0, 4096\\]"),
    ({"Dx": "-1"}, "Dx"),
    ({"StartTime": "2", "EndTime": "2"}, "EndTime"),
    ({"Type": "Image", "Image": {"Url": "a.png", "Width": "101"}}, "Width must be in \\[1, 100\\]"),
    ({"Type": "Image", "Image": {"Url": "a.png", "Mode": "Fixed", "Height": "5"}}, "Height must be in \\[8, 4096\\]"),
    ({"Type": "Image", "Image": {"Url": "a.png", "Background": "true"}}, "Background"),
])
def test_invalid_parameters(fields, message):
    data = {"Type": "Text", "Text": {"Text": "x"}, **fields}
    with pytest.raises(ValidationError, match=message):
        WatermarkParams.model_validate(data)


def test_at_most_three_marks(tmp_path):
    marks = [text()] * (MAX_WATERMARKS + 1)
    with pytest.raises(InvalidInputError, match="at most 3"):
        overlay_graph(marks, [None] * len(marks), base=None, frame_size=(WIDTH, HEIGHT), workdir=tmp_path)
