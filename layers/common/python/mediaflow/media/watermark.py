"""Watermarks (Tag=Watermark templates; Operation.Watermark inline): text or an image, placed on
the transcoded picture."""

from typing import Any, Literal

from pydantic import Field

from .params import Params

MAX_WATERMARKS = 3
POSITIONS = ("TopLeft", "Top", "TopRight", "Left", "Center", "Right", "BottomLeft", "Bottom", "BottomRight")


class WatermarkImage(Params):
    Url: str  # an object of the input's bucket: its URL or its key
    Mode: Literal["Original", "Proportion", "Fixed"] = "Proportion"
    Width: float | None = None
    Height: float | None = None
    Transparency: int = Field(default=100, ge=1, le=100)  # 100: opaque


class WatermarkText(Params):
    Text: str = Field(min_length=1, max_length=64)
    FontSize: int = Field(default=20, ge=5, le=100)
    FontType: str = "arial.ttf"
    FontColor: str = "0xFFFFFF"
    Transparency: int = Field(default=100, ge=1, le=100)


class WatermarkParams(Params):
    Type: Literal["Text", "Image"]
    Pos: str = "TopRight"
    LocMode: Literal["Relativity", "Absolute"] = "Absolute"
    Dx: float = 0
    Dy: float = 0
    StartTime: float | None = Field(default=None, ge=0)
    EndTime: float | None = Field(default=None, gt=0)
    Image: WatermarkImage | None = None
    Text: WatermarkText | None = None

    def model_post_init(self, context: Any) -> None:  # filled in with the filter builder
        pass
