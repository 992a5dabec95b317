"""Watermarks (Tag=Watermark templates; Operation.Watermark inline): text or an image, placed on
the transcoded picture by one ffmpeg filter graph.

As in commands.py, only numbers formatted here and a validated colour reach the graph. The text
never does: it is written into an ASS subtitle file in the caller's work folder and drawn by the
`ass` filter (libass), with the layer's fonts. The layer's ffmpeg 7 has no drawtext (since ffmpeg
6.1 drawtext needs HarfBuzz, which the static build lacks); libass does the same job: a style
with the font, size and colour, one event for the watermark's time window, placed with \\an and
\\pos in a script whose resolution is the picture's, so positions are in the picture's pixels.
A text mark is placed by its line box (the font's ascent to its descent), as drawtext's text_h
does for a line, so capitals sit a few pixels inside the offset.
"""

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from ..exceptions import InvalidInputError, MediaError
from .ffmpeg import ffmpeg_path, input_args
from .ffmpeg import int_arg as _int
from .ffmpeg import num_arg as _num
from .params import Params, _pick

MAX_WATERMARKS = 3
POSITIONS = ("TopLeft", "Top", "TopRight", "Left", "Center", "Right", "BottomLeft", "Bottom", "BottomRight")
# Offsets: Relativity in % of the picture, Absolute in pixels.
MAX_OFFSET = {"Relativity": 100, "Absolute": 4096}
# Image Width/Height: Proportion in % of the picture, Fixed in pixels.
IMAGE_SIDE = {"Proportion": (1, 100), "Fixed": (8, 4096)}
# A watermark image larger than this is refused by the decoder before it allocates the frame.
MAX_IMAGE_PIXELS = 4096 * 4096
COLOR = re.compile(r"(?:0x|#)(?P<hex>[0-9a-fA-F]{6})")

# Lambda has no fonts: the ffmpeg layer ships DejaVu (see layers/ffmpeg/Makefile).
SANS, SERIF, BOLD = "DejaVuSans.ttf", "DejaVuSerif.ttf", "DejaVuSans-Bold.ttf"
# The family name and boldness libass looks a font file up by.
FONT_FACES = {SANS: ("DejaVu Sans", 0), SERIF: ("DejaVu Serif", 0), BOLD: ("DejaVu Sans", -1)}
# libass sizes a font by its line height (ascent + descent), drawtext and Tencent's FontSize by its em:
# DejaVu's line is (1901 + 483) / 2048 em, so an ASS size of FontSize * that draws FontSize-pixel glyphs.
DEJAVU_LINE_PER_EM = (1901 + 483) / 2048
FONTS = {
    "simfang.ttf": SERIF, "simsun.ttc": SERIF, "simkai.ttf": SERIF,
    "ariblk.ttf": BOLD, "ahronbd.ttf": BOLD,
}  # lower-case Tencent names; any other name (arial, Helvetica, simhei, STHeiti, youyuan...) is sans
# Paths put into the graph must need no escaping there: no ' : , ; [ ] \ =, no space at either end.
_PLAIN_PATH = re.compile(r"[\w./+@~-]+(?: [\w./+@~-]+)*")
_LABEL = re.compile(r"[A-Za-z0-9_]+")


def _case_insensitive(allowed: tuple[str, ...], what: str) -> Any:
    def pick(value: Any) -> Any:
        return _pick(value, allowed, what) if isinstance(value, str) else value
    return pick


class WatermarkImage(Params):
    Url: str  # an object of the input's bucket: its URL or its key
    Mode: Literal["Original", "Proportion", "Fixed"] = "Proportion"
    Width: float | None = None  # neither side given: the image's own size
    Height: float | None = None
    Transparency: int = Field(default=100, ge=1, le=100)  # 100: opaque
    Background: bool = False  # a picture under the video: not supported

    _mode = field_validator("Mode", mode="before")(_case_insensitive(("Original", "Proportion", "Fixed"), "image mode"))

    @model_validator(mode="after")
    def _check(self) -> "WatermarkImage":
        if self.Background:
            raise ValueError("Background images are not supported; only watermarks over the video")
        if self.Mode in IMAGE_SIDE:
            low, high = IMAGE_SIDE[self.Mode]
            for side in ("Width", "Height"):
                value = getattr(self, side)
                if value is not None and not low <= value <= high:
                    raise ValueError(f"{side} must be in [{low}, {high}] in {self.Mode} mode, got {value:g}")
        return self


class WatermarkText(Params):
    Text: str = Field(min_length=1, max_length=64)
    FontSize: int = Field(default=20, ge=5, le=100)
    FontType: str = "arial.ttf"
    FontColor: str = "0xFFFFFF"
    Transparency: int = Field(default=100, ge=1, le=100)

    @field_validator("Text")
    @classmethod
    def _printable(cls, value: str) -> str:
        if any(ord(c) < 32 or ord(c) == 127 for c in value):
            raise ValueError("the text must not hold control characters")
        return value

    @field_validator("FontColor")
    @classmethod
    def _color(cls, value: str) -> str:
        match = COLOR.fullmatch(value)
        if not match:
            raise ValueError(f"FontColor must be 0xRRGGBB or #RRGGBB, got {value!r}")
        return "0x" + match["hex"].upper()


class WatermarkParams(Params):
    Type: Literal["Text", "Image"]
    Pos: str = "TopRight"
    LocMode: Literal["Relativity", "Absolute"] = "Absolute"
    Dx: float = 0
    Dy: float = 0
    StartTime: float | None = Field(default=None, ge=0)  # seconds of the output
    EndTime: float | None = Field(default=None, gt=0)
    Image: WatermarkImage | None = None
    Text: WatermarkText | None = None

    _type = field_validator("Type", mode="before")(_case_insensitive(("Text", "Image"), "watermark type"))
    _loc = field_validator("LocMode", mode="before")(_case_insensitive(("Relativity", "Absolute"), "LocMode"))

    @field_validator("Pos")
    @classmethod
    def _pos(cls, value: str) -> str:
        return _pick(value, POSITIONS, "watermark position")

    @model_validator(mode="after")
    def _check(self) -> "WatermarkParams":
        if self.Type == "Text" and self.Text is None:
            raise ValueError("a Text watermark needs Text")
        if self.Type == "Image" and self.Image is None:
            raise ValueError("an Image watermark needs Image")
        # The other kind's element is dropped, so no image is fetched for a text mark.
        if self.Type == "Text":
            self.Image = None
        else:
            self.Text = None
        limit = MAX_OFFSET[self.LocMode]
        for name in ("Dx", "Dy"):
            value = getattr(self, name)
            if not 0 <= value <= limit:
                raise ValueError(f"{name} must be in [0, {limit}] with LocMode {self.LocMode}, got {value:g}")
        if self.StartTime is not None and self.EndTime is not None and self.EndTime <= self.StartTime:
            raise ValueError(f"EndTime {self.EndTime:g} must be after StartTime {self.StartTime:g}")
        return self


# ------------------------------------------------------------------ fonts
def font_dir() -> Path:
    """FONT_DIR, else fonts/ beside the ffmpeg binary's bin/ (/opt/fonts on Lambda)."""
    configured = os.environ.get("FONT_DIR")
    return Path(configured) if configured else Path(ffmpeg_path()).parent.parent / "fonts"


def font_file(font_type: str) -> str:
    """The bundled font file that stands in for Tencent's FontType (any unknown name: sans)."""
    path = font_dir() / FONTS.get(font_type.strip().lower(), SANS)
    if not path.is_file():
        raise MediaError(f"font {path} is missing (run make install, or set FONT_DIR)", code="InternalError")
    return str(path)


# ------------------------------------------------------------------ filter graph
def image_input_args(path: str) -> list[str]:
    """The extra input of a watermark image: local file only, decoded as a still image
    (image2pipe probes the content, so a video or playlist is refused), within MAX_IMAGE_PIXELS."""
    return ["-max_pixels", _int(MAX_IMAGE_PIXELS), "-f", "image2pipe", *input_args(path)]


def overlay_graph(
    marks: Sequence[WatermarkParams],
    image_inputs: Sequence[int | None],
    *,
    base: str | None,
    frame_size: tuple[int, int],
    workdir: Path,
    out_label: str = "vout",
) -> str:
    """A -filter_complex graph: [0:v:0], then `base` (scaling, may be None), then each mark in
    order, out at [out_label]. image_inputs[i] is the input index of mark i's image (None for a
    text mark); frame_size is the picture's size after `base`. Text goes to files in `workdir`."""
    if len(marks) > MAX_WATERMARKS:
        raise InvalidInputError(f"Watermark: at most {MAX_WATERMARKS} watermarks on one transcode, got {len(marks)}")
    if len(image_inputs) != len(marks):
        raise ValueError(f"{len(marks)} watermarks but {len(image_inputs)} image inputs")
    if not _LABEL.fullmatch(out_label):
        raise ValueError(f"not a plain pad label: {out_label!r}")

    chains: list[str] = []
    pads, filters = "[0:v:0]", [base] if base else []  # the chain being built: its inputs and filters
    for i, (mark, index) in enumerate(zip(marks, image_inputs)):
        if mark.Type == "Text":
            filters.append(_drawtext(mark, frame_size, workdir / f"watermark-{i}.txt"))
            continue
        if index is None:
            raise ValueError(f"watermark {i} is an image but has no input")
        if filters:  # close the chain so far: overlay takes it and the image as two labelled inputs
            chains.append(f"{pads}{','.join(filters)}[main{i}]")
            pads = f"[main{i}]"
        chains.append(f"[{_int(index)}:v:0]{_image_filters(mark, frame_size)}[mark{i}]")
        pads, filters = f"{pads}[mark{i}]", [_overlay(mark, frame_size)]
    chains.append(f"{pads}{','.join(filters) or 'null'}[{out_label}]")
    return ";".join(chains)


def _drawtext(mark: WatermarkParams, frame_size: tuple[int, int], text_path: Path) -> str:
    """The `ass` filter drawing the text mark: the text goes into an ASS script in the work folder
    (`text_path`, and the script beside it), never into the graph."""
    text = mark.Text
    assert text is not None  # WatermarkParams checks it
    text_path.write_text(text.Text, encoding="utf-8")
    font = Path(font_file(text.FontType))
    family, bold = FONT_FACES[font.name]
    width, height = frame_size
    # ASS colours are &HAABBGGRR, alpha 00 opaque
    red, green, blue = (text.FontColor[i:i + 2] for i in (2, 4, 6))
    alpha = round(255 * (100 - text.Transparency) / 100)
    colour = f"&H{alpha:02X}{blue}{green}{red}"
    column = 1 if mark.Pos.endswith("Left") else 3 if mark.Pos.endswith("Right") else 2
    row = 7 if mark.Pos.startswith("Top") else 1 if mark.Pos.startswith("Bottom") else 4
    x, y = _anchor(mark, frame_size)
    start = _ass_time(mark.StartTime or 0)
    end = _ass_time(mark.EndTime) if mark.EndTime is not None else "999:00:00.00"
    script = text_path.with_suffix(".ass")
    script.write_text(
        "[Script Info]\nScriptType: v4.00+\nWrapStyle: 2\nScaledBorderAndShadow: yes\n"
        f"PlayResX: {_int(width)}\nPlayResY: {_int(height)}\n\n"
        "[V4+ Styles]\nFormat: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, "
        "Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, "
        "Alignment, MarginL, MarginR, MarginV, Encoding\n"
        f"Style: Mark,{family},{_num(round(text.FontSize * DEJAVU_LINE_PER_EM, 2))},{colour},{colour},&HFF000000,&HFF000000,"
        f"{bold},0,0,0,100,100,0,0,1,0,0,{row + column - 1},0,0,0,1\n\n"
        "[Events]\nFormat: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n"
        f"Dialogue: 0,{start},{end},Mark,,0,0,0,,{{\\an{row + column - 1}\\pos({x},{y})}}{_ass_text(text.Text)}\n",
        encoding="utf-8")
    return f"ass=filename={_plain(str(script))}:fontsdir={_plain(str(font.parent))}"


def _anchor(mark: WatermarkParams, frame_size: tuple[int, int]) -> tuple[str, str]:
    """The point \\pos puts the text's aligned corner (or edge centre) at: Dx/Dy from the near edges,
    added to the centre for the centre column or row; Relativity offsets are shares of the picture."""
    dx, dy = mark.Dx, mark.Dy
    if mark.LocMode == "Relativity":
        dx, dy = dx * frame_size[0] / 100, dy * frame_size[1] / 100
    width, height = frame_size
    x = dx if mark.Pos.endswith("Left") else width - dx if mark.Pos.endswith("Right") else width / 2 + dx
    y = dy if mark.Pos.startswith("Top") else height - dy if mark.Pos.startswith("Bottom") else height / 2 + dy
    return _num(round(x)), _num(round(y))


def _ass_time(seconds: float) -> str:
    centis = round(seconds * 100)
    return f"{centis // 360000}:{centis // 6000 % 60:02d}:{centis // 100 % 60:02d}.{centis % 100:02d}"


def _ass_text(value: str) -> str:
    """The text as an ASS event shows it literally: braces would open override tags and a backslash
    an escape (\\N, \\h, ...); a word joiner after each backslash, and braces as \\{ \\}, keep them text."""
    return value.replace("\\", "\\\u2060").replace("{", "\\{").replace("}", "\\}")


def _image_filters(mark: WatermarkParams, frame_size: tuple[int, int]) -> str:
    image = mark.Image
    assert image is not None  # WatermarkParams checks it
    filters = ["format=rgba"]  # an alpha channel to scale along and to fade
    size = _image_size(image, frame_size)
    if size:
        filters.append(f"scale={size[0]}:{size[1]}")
    if image.Transparency < 100:
        filters.append(f"colorchannelmixer=aa={_num(image.Transparency / 100)}")
    return ",".join(filters)


def _image_size(image: WatermarkImage, frame_size: tuple[int, int]) -> tuple[str, str] | None:
    """scale's width and height; -1 for a side left out keeps the image's aspect ratio."""
    if image.Mode == "Original" or (image.Width is None and image.Height is None):
        return None
    if image.Mode == "Proportion":
        sides = [None if share is None else max(1, round(share * full / 100))
                 for share, full in zip((image.Width, image.Height), frame_size)]
    else:
        sides = [None if px is None else round(px) for px in (image.Width, image.Height)]
    width, height = ("-1" if side is None else _int(side) for side in sides)
    return width, height


def _overlay(mark: WatermarkParams, frame_size: tuple[int, int]) -> str:
    # format=auto keeps the video's pixel format (the default would force 4:2:0)
    return f"overlay=format=auto{_position(mark, frame_size, 'overlay_w', 'overlay_h')}{_enable(mark)}"


def _position(mark: WatermarkParams, frame_size: tuple[int, int], w: str, h: str) -> str:
    """':x=...:y=...' for Pos: Dx from the near edge of the column (added for the centre column),
    Dy likewise from the row's; Relativity offsets are shares of the picture's size."""
    dx, dy = mark.Dx, mark.Dy
    if mark.LocMode == "Relativity":
        dx, dy = dx * frame_size[0] / 100, dy * frame_size[1] / 100
    column = "Left" if mark.Pos.endswith("Left") else "Right" if mark.Pos.endswith("Right") else "Centre"
    row = "Top" if mark.Pos.startswith("Top") else "Bottom" if mark.Pos.startswith("Bottom") else "Centre"
    return f":x={_axis(column, 'main_w', w, _int(round(dx)))}:y={_axis(row, 'main_h', h, _int(round(dy)))}"


def _axis(place: str, full: str, size: str, offset: str) -> str:
    if place in ("Left", "Top"):
        return offset
    if place in ("Right", "Bottom"):
        return f"{full}-{size}-{offset}"
    return f"({full}-{size})/2+{offset}"


def _enable(mark: WatermarkParams) -> str:
    start, end = mark.StartTime, mark.EndTime
    if start is not None and end is not None:
        return f":enable='between(t,{_num(start)},{_num(end)})'"
    if start is not None:
        return f":enable='gte(t,{_num(start)})'"
    if end is not None:
        return f":enable='lte(t,{_num(end)})'"
    return ""


def _plain(path: str) -> str:
    if not _PLAIN_PATH.fullmatch(path):
        raise ValueError(f"path {path!r} would need escaping in a filter graph")
    return path
