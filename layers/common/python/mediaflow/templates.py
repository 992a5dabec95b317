"""Parameter templates: the Official presets that ship with the code, and template resolution.

Ids and names are Tencent's (reference §3); parameters follow the reference's table (all transcode
presets are H.264 + AAC 128 kbps; the table gives the width and video bitrate).
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from .exceptions import InvalidInputError
from .media.params import SnapshotParams, TranscodeParams
from .models import Operation


def _mp4(width: int, kbps: int) -> dict[str, Any]:
    return {
        "Container": {"Format": "mp4"},
        "Video": {"Codec": "H.264", "Width": str(width), "Bitrate": str(kbps), "Profile": "high", "Preset": "medium"},
        "Audio": {"Codec": "aac", "Bitrate": "128", "Samplerate": "44100", "Channels": "2"},
    }


def _snapshot(width: int, height: int, interval: int, count: int) -> dict[str, Any]:
    return {"Mode": "Interval", "Start": "0", "TimeInterval": str(interval), "Count": str(count),
            "Width": str(width), "Height": str(height)}


# template id -> (Name, Tag, parameters)
OFFICIAL: dict[str, tuple[str, str, dict[str, Any]]] = {
    "t02db40900dc1c43ad9bdbd8acec6075c5": ("MP4-FLU", "Transcode", _mp4(640, 512)),
    "t04e1ab86554984f1aa17c062fbf6c007c": ("MP4-SD", "Transcode", _mp4(720, 1024)),
    "t02d06d8ad881648e69f9ca95b2e7e4b6a": ("MP4-HD", "Transcode", _mp4(1280, 2000)),
    "t064fb9214850f49aaac44b5561a7b0b3b": ("MP4-FHD", "Transcode", _mp4(1920, 3500)),
    "t077211ea3e0e74168b8ed921fcb2d5a6b": ("MP4-2K", "Transcode", _mp4(2048, 4800)),
    "t01d40e440761448fc8c538fb8d5a5b81e": ("snapshot_320*180_1", "Snapshot", _snapshot(320, 180, 2, 5)),
    "t0a60a2bc71a4b40c7b3d7f7e8a2779a81": ("snapshot_640*360_2", "Snapshot", _snapshot(640, 360, 10, 5)),
    "t07740e32081b44ad7a0aea03adcffd54a": ("snapshot_1280*720_3", "Snapshot", _snapshot(1280, 720, 10, 5)),
}


def build_operation(tag: str, spec: dict[str, Any], *, default_bucket: str, default_region: str) -> Operation:
    """An Operation from a request/node <Operation> element: a TemplateId wins over inline parameters."""
    spec = dict(spec or {})
    output = dict(spec.get("Output") or {})
    output["Bucket"] = output.get("Bucket") or default_bucket
    output["Region"] = output.get("Region") or default_region
    template_id = spec.get("TemplateId") or None
    name = None
    if template_id:
        if template_id not in OFFICIAL:
            raise InvalidInputError(f"TemplateId {template_id} does not exist", code="InvalidArgument")
        name, template_tag, params = OFFICIAL[template_id]
        if template_tag != tag:
            raise InvalidInputError(f"template {template_id} ({name}) is a {template_tag} template, not {tag}")
        spec[tag] = params
    if tag not in ("Transcode", "Snapshot"):
        raise InvalidInputError(f"Tag {tag} is not supported")
    if not spec.get(tag):
        spec[tag] = {}
    try:
        return Operation.model_validate(
            {"TemplateId": template_id, "TemplateName": name, tag: spec[tag], "Output": output,
             "UserData": spec.get("UserData"), "JobLevel": spec.get("JobLevel") or 0}
        )
    except ValidationError as error:
        raise InvalidInputError(f"invalid {tag} parameters: {_first_error(error)}") from error


def _first_error(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(p) for p in first["loc"])
    return f"{where}: {first['msg']}"


def operation_params(operation: Operation) -> TranscodeParams | SnapshotParams:
    params = operation.Transcode or operation.Snapshot
    if params is None:
        raise InvalidInputError("the operation has no parameters")
    return params
