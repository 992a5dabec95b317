"""MPS preset Definitions and what each runs (`DEFINITIONS`); a custom template's Definition is found
through a `CustomPreset` lookup (`templates.custom_preset`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from ...control.templates import OFFICIAL


class Preset(NamedTuple):
    operation: dict[str, Any]  # TemplateId or inline parameters, without Output
    ext: str  # the output format (an animated result reports it as its Container)


def _transcode_preset(template_id: str) -> Preset:
    return Preset({"TemplateId": template_id}, OFFICIAL[template_id][2]["Container"]["Format"])


DEFINITIONS: dict[str, dict[int, Preset]] = {
    "Transcode": {
        100010: _transcode_preset("t02db40900dc1c43ad9bdbd8acec6075c5"),  # MP4-FLU
        100020: _transcode_preset("t04e1ab86554984f1aa17c062fbf6c007c"),  # MP4-SD
        100030: _transcode_preset("t02d06d8ad881648e69f9ca95b2e7e4b6a"),  # MP4-HD
        100040: _transcode_preset("t064fb9214850f49aaac44b5561a7b0b3b"),  # MP4-FHD
        100070: _transcode_preset("t077211ea3e0e74168b8ed921fcb2d5a6b"),  # MP4-2K
    },
    "SnapshotByTimeOffset": {
        # source size; the time points come from the request's ExtTimeOffsetSet
        10: Preset({"Snapshot": {"Mode": "Interval", "Format": "jpg"}}, "jpg"),
    },
    "SampleSnapshot": {
        # one image every 10 % of the duration: ten spread evenly from the start
        10: Preset({"Snapshot": {"Mode": "Average", "Start": "0", "Count": "10", "Format": "jpg"}}, "jpg"),
    },
    "AnimatedGraphics": {
        # gif 320 px wide (height keeps the aspect ratio), 15 frames taken and played per second
        20000: Preset({"Animation": {"Container": {"Format": "gif"},
                                     "Video": {"Codec": "gif", "Width": "320", "Fps": "15",
                                               "AnimateFramesPerSecond": "15"}}}, "gif"),
    },
    "ImageSprites": {
        # a frame every 10 s, on 10x10 sheets of 142x80 cells, and a WebVTT that maps times to cells
        10: Preset({"Snapshot": {"Mode": "Interval", "Start": "0", "TimeInterval": "10", "Format": "jpg",
                                 "SnapshotOutMode": "OnlySprite",
                                 "SpriteSnapshotConfig": {"CellWidth": "142", "CellHeight": "80", "Padding": "0",
                                                          "Margin": "0", "Color": "black",
                                                          "Columns": "10", "Lines": "10"}}},
                   "jpg"),
    },
}
"""MPS preset Definitions -> what we run, by MediaProcessResultSet Type.

This table is our choice: the reference confirms the preset ids 10 and 20000 only from samples
and marks the 100010-series table unconfirmed (reference §7 "Preset template IDs"). Transcode
presets are the Official CI templates of `templates.OFFICIAL`; the others are inline parameters."""


CustomPreset = Callable[[str, int], "Preset | None"]  # (result set Type, Definition) -> what it runs
