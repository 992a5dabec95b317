"""MPS template fields made into our parameters (`faces/mps/template_kinds.py`), each then valid for the
Tag's own model, as the COS face's templates are."""

from __future__ import annotations

import pytest
from mediaflow.control.templates import validate_params
from mediaflow.exceptions import InvalidInputError
from mediaflow.faces.mps.template_kinds import KINDS
from mediaflow.faces.mps.wire import parse

pytestmark = pytest.mark.unit


def made(kind: str, fields: dict) -> dict:
    spec = KINDS[kind]
    return validate_params(spec.tag, spec.params(parse(spec.fields, fields)), "")


def test_a_text_watermark_keeps_its_corner_offsets_and_alpha() -> None:
    mark = made("Watermark", {"Type": "text", "CoordinateOrigin": "BottomRight", "XPos": "5%", "YPos": "10%",
                              "TextTemplate": {"FontSize": "24px", "FontColor": "0xFF0000", "FontAlpha": 0.5,
                                               "TextContent": "mediaflow"}})
    assert (mark["Type"], mark["Pos"], mark["LocMode"], mark["Dx"], mark["Dy"]) == ("Text", "BottomRight", "Relativity", 5, 10)
    assert (mark["Text"]["Text"], mark["Text"]["FontSize"], mark["Text"]["Transparency"]) == ("mediaflow", 24, 50)


def test_an_image_watermark_is_sized_in_pixels_or_percent() -> None:
    fixed = made("Watermark", {"Type": "image", "XPos": "16px", "YPos": "8px",
                               "ImageTemplate": {"ImageContent": "iVBORw0KGgo=", "Width": "64px"}})
    assert (fixed["LocMode"], fixed["Image"]["Mode"], fixed["Image"]["Width"]) == ("Absolute", "Fixed", 64)
    assert "Height" not in fixed["Image"]  # 0px: the image keeps its aspect ratio
    share = made("Watermark", {"Type": "image", "ImageTemplate": {"ImageContent": "iVBORw0KGgo=", "Width": "20%"}})
    assert (share["Image"]["Mode"], share["Image"]["Width"]) == ("Proportion", 20)


@pytest.mark.parametrize(("kind", "fields", "where"), [
    ("Watermark", {"Type": "text", "XPos": "5%", "YPos": "10px"}, "XPos, YPos"),
    ("Watermark", {"Type": "image"}, "ImageTemplate"),
    ("Watermark", {"Type": "svg"}, "Type"),
    ("Transcode", {"Container": "avi"}, "Container"),
    ("ImageSprite", {"SampleType": "Time", "SampleInterval": 0, "RowCount": 2, "ColumnCount": 2}, "SampleInterval"),
])
def test_fields_that_make_no_valid_parameters_are_refused(kind: str, fields: dict, where: str) -> None:
    with pytest.raises(InvalidInputError) as refused:
        made(kind, fields)
    assert refused.value.message.startswith(where)


def test_transcode_fields_map_codecs_and_sizes() -> None:
    params = made("Transcode", {"Container": "hls", "RemoveAudio": 1,
                                "VideoTemplate": {"Codec": "libx265", "Height": 720, "Bitrate": 1800, "Vcrf": 0}})
    assert (params["Container"]["Format"], params["Video"]["Codec"], params["Video"]["Height"]) == ("hls", "H.265", 720)
    assert params["Audio"]["Remove"] is True and params["Video"].get("Width") is None
