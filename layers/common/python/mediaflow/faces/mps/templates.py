"""MPS templates: Create / Describe / Modify / Delete for Transcode, SnapshotByTimeOffset, SampleSnapshot,
ImageSprite and AnimatedGraphics templates.

One store with the COS face: a custom MPS template is a `control.templates.Template` (account-wide:
no bucket) whose parameters are our Tag's, made from the MPS fields (`Kind.params`), with the MPS
fields kept beside them (`MpsTemplate`) to be described as they were given. Its `Definition` is a
number from 1,000,000 up, so never one of the presets (10, 20000, 100010-100070), and its TemplateId
is derived from it, so the store's conditional create keeps Definitions unique. A task or workflow
that names a custom Definition takes the template's parameters when it is created (`plan.Preset`);
Modify changes what later tasks, and workflows reset later, take."""

from __future__ import annotations

import copy
import secrets
from collections.abc import Callable
from typing import Any, Literal, NamedTuple, Optional

from pydantic import Field, create_model

from ...control import templates as store_templates
from ...control import workflows
from ...control.templates import OFFICIAL, Template
from ...exceptions import InvalidInputError
from ...shapes.mps import mps_time
from .plan import DEFINITIONS, Preset
from .wire import Wire, parse

FIRST_CUSTOM, LAST_CUSTOM = 1_000_000, 9_999_999
Size = Field(default=0, ge=0, le=4096)  # 0: the source's (the other side keeps the aspect ratio)


# ------------------------------------------------------------------ the requests (SDK field names)
class VideoTemplateInfo(Wire):
    Codec: Literal["libx264", "libx265", "av1"] = "libx264"
    Fps: float = Field(default=0, ge=0, le=60)  # 0: the source's
    Bitrate: int = Field(default=0, ge=0, le=50000)  # kbps; 0: chosen from the size
    Width: int = Size
    Height: int = Size
    Gop: int = Field(default=0, ge=0, le=100000)
    Vcrf: int = Field(default=0, ge=0, le=51)


class AudioTemplateInfo(Wire):
    Codec: Literal["libfdk_aac", "aac", "libmp3lame", "mp3"] = "libfdk_aac"
    Bitrate: int = Field(default=0, ge=0, le=1000)
    SampleRate: int = Field(default=44100, ge=8000, le=96000)
    AudioChannel: Literal[1, 2, 6] = 2


class Named(Wire):
    Name: str = Field(default="", max_length=64)
    Comment: str = Field(default="", max_length=256)


class TranscodeFields(Named):
    Container: Literal["mp4", "flv", "hls", "mp3", "m4a", "mov", "mkv", "webm"]
    RemoveVideo: Literal[0, 1] = 0
    RemoveAudio: Literal[0, 1] = 0
    VideoTemplate: VideoTemplateInfo | None = None
    AudioTemplate: AudioTemplateInfo | None = None


class SnapshotFields(Named):
    Width: int = Size
    Height: int = Size
    Format: Literal["jpg", "png"] = "jpg"


class SampleSnapshotFields(SnapshotFields):
    SampleType: Literal["Percent", "Time"]
    SampleInterval: int = Field(ge=1, le=3600)


class ImageSpriteFields(SampleSnapshotFields):
    RowCount: int = Field(ge=1, le=100)
    ColumnCount: int = Field(ge=1, le=100)


class AnimatedGraphicsFields(Named):
    Fps: int = Field(ge=1, le=30)
    Width: int = Size
    Height: int = Size
    Format: Literal["gif", "webp"] = "gif"
    Quality: float = Field(default=75, ge=1, le=100)


class DescribeTemplatesRequest(Wire):
    Definitions: list[int] | None = Field(default=None, max_length=100)
    Type: Literal["Preset", "Custom"] | None = None
    Name: str | None = Field(default=None, max_length=64)
    Offset: int = Field(default=0, ge=0, le=10**6)
    Limit: int = Field(default=10, ge=1, le=100)


class DefinitionRequest(Wire):
    Definition: int = Field(ge=1, le=LAST_CUSTOM)


# ------------------------------------------------------------------ MPS fields -> our parameters
def _size(value: int) -> str | None:
    return str(value) if value else None


def _transcode(f: TranscodeFields) -> dict[str, Any]:
    video, audio = f.VideoTemplate or VideoTemplateInfo(), f.AudioTemplate or AudioTemplateInfo()
    codec = {"libx264": "H.264", "libx265": "H.265", "av1": "AV1"}[video.Codec]
    return {"Container": {"Format": f.Container},
            "Video": {k: v for k, v in {"Codec": codec, "Width": _size(video.Width), "Height": _size(video.Height),
                                        "Fps": video.Fps or None, "Bitrate": video.Bitrate or None,
                                        "Gop": video.Gop or None, "Crf": video.Vcrf or None,
                                        "Remove": "true" if f.RemoveVideo else None}.items() if v is not None},
            "Audio": {k: v for k, v in {"Codec": "mp3" if "mp3" in audio.Codec else "aac",
                                        "Bitrate": audio.Bitrate or None, "Samplerate": audio.SampleRate,
                                        "Channels": audio.AudioChannel,
                                        "Remove": "true" if f.RemoveAudio else None}.items() if v is not None}}


def _snapshot(f: SnapshotFields) -> dict[str, Any]:
    return {k: v for k, v in {"Mode": "Interval", "Format": f.Format, "Width": _size(f.Width),
                              "Height": _size(f.Height)}.items() if v is not None}


def _sampled(f: SampleSnapshotFields) -> dict[str, Any]:
    if f.SampleType == "Percent":  # one image every SampleInterval % of the duration, from the start
        return _snapshot(f) | {"Mode": "Average", "Start": "0", "Count": str(max(1, 100 // f.SampleInterval))}
    return _snapshot(f) | {"Start": "0", "TimeInterval": str(f.SampleInterval)}


def _sprite(f: ImageSpriteFields) -> dict[str, Any]:
    """Width and Height are a cell's (each frame is scaled to the cell)."""
    frames = {k: v for k, v in _sampled(f).items() if k not in ("Width", "Height")}
    return frames | {"SnapshotOutMode": "OnlySprite", "SpriteSnapshotConfig": {
        "CellWidth": _size(f.Width) or "142", "CellHeight": _size(f.Height) or "80", "Padding": "0", "Margin": "0",
        "Color": "black", "Columns": str(f.ColumnCount), "Lines": str(f.RowCount)}}


def _animated(f: AnimatedGraphicsFields) -> dict[str, Any]:
    video = {"Codec": f.Format, "Fps": str(f.Fps), "AnimateFramesPerSecond": str(f.Fps),
             "Width": _size(f.Width), "Height": _size(f.Height), "Quality": str(f.Quality) if f.Format == "webp" else None}
    return {"Container": {"Format": f.Format}, "Video": {k: v for k, v in video.items() if v is not None}}


class Kind(NamedTuple):
    name: str  # CreateXTemplate, DescribeXTemplates, XTemplateSet
    set_type: str  # the MediaProcessResultSet Type whose Definitions it serves
    tag: str  # our template Tag
    field: str  # where our parameters sit in an operation
    fields: type[Named]
    params: Callable[[Any], dict[str, Any]]
    ext: Callable[[dict[str, Any]], str]


KINDS = {kind.name: kind for kind in (
    Kind("Transcode", "Transcode", "Transcode", "Transcode", TranscodeFields, _transcode,
         lambda p: "m3u8" if p["Container"]["Format"] == "hls" else p["Container"]["Format"]),
    Kind("SnapshotByTimeOffset", "SnapshotByTimeOffset", "Snapshot", "Snapshot", SnapshotFields, _snapshot,
         lambda p: p["Format"]),
    Kind("SampleSnapshot", "SampleSnapshot", "Snapshot", "Snapshot", SampleSnapshotFields, _sampled,
         lambda p: p["Format"]),
    Kind("ImageSprite", "ImageSprites", "Snapshot", "Snapshot", ImageSpriteFields, _sprite, lambda p: p["Format"]),
    Kind("AnimatedGraphics", "AnimatedGraphics", "Animation", "Animation", AnimatedGraphicsFields, _animated,
         lambda p: p["Container"]["Format"]),
)}
KIND_OF_SET = {kind.set_type: kind for kind in KINDS.values()}


def _modify_request(kind: Kind) -> type[DefinitionRequest]:
    """ModifyXTemplate: the Definition, and any of the kind's fields (those given replace the stored ones)."""
    optional: dict[str, Any] = {name: (Optional[info.annotation], None)  # noqa: UP045 (create_model takes a type)
                                for name, info in kind.fields.model_fields.items()}
    return create_model(f"Modify{kind.name}TemplateRequest", __base__=DefinitionRequest, **optional)


ModifyRequest = {name: _modify_request(kind) for name, kind in KINDS.items()}


# ------------------------------------------------------------------ the store
def template_id(definition: int) -> str:
    return f"t1{definition:032x}"


def _custom(kind: Kind) -> list[Template]:
    return [t for t in store_templates.mps_templates() if t.Mps and t.Mps.Kind == kind.name]


def _get(kind: Kind, definition: int) -> Template:
    found = next((t for t in _custom(kind) if t.Mps and t.Mps.Definition == definition), None)
    if found is None:
        preset = definition in DEFINITIONS[kind.set_type]
        raise InvalidInputError(f"Definition: {definition} is a preset, which cannot be changed" if preset else
                                f"Definition: {definition} is not a {kind.name} template",
                                code="InvalidParameterValue" if preset else "ResourceNotFound.TemplateNotExist")
    return found


def custom_preset(set_type: str, definition: int) -> Preset | None:
    """What a task runs for a custom Definition (plan_task's lookup), None if there is no such template."""
    kind = KIND_OF_SET.get(set_type)
    if kind is None or definition < FIRST_CUSTOM:
        return None
    try:
        template = _get(kind, definition)
    except InvalidInputError:
        return None
    return Preset({kind.field: copy.deepcopy(template.params)}, kind.ext(template.params))


def _validated(kind: Kind, fields: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    given = parse(kind.fields, fields)
    params = store_templates.validate_params(kind.tag, kind.params(given), f"{kind.name}: ")
    return given, params


def create(kind: Kind) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    def handle(body: dict[str, Any], _key: Any) -> dict[str, Any]:
        given, params = _validated(kind, body)
        while True:
            definition = FIRST_CUSTOM + secrets.randbelow(LAST_CUSTOM - FIRST_CUSTOM + 1)
            mps = store_templates.MpsTemplate(Definition=definition, Kind=kind.name, Fields=given.given())
            if store_templates.create_account_template(template_id(definition), given.Name, kind.tag, params, mps):
                return {"Definition": definition}
    return handle


def modify(kind: Kind) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    def handle(body: dict[str, Any], _key: Any) -> dict[str, Any]:
        request = parse(ModifyRequest[kind.name], body)
        existing = _get(kind, request.Definition)
        assert existing.Mps is not None
        merged = {**existing.Mps.Fields, **request.given(exclude={"Definition"})}
        given, params = _validated(kind, merged)
        store_templates.change_account_template(existing.TemplateId, given.Name, params, given.given())
        return {}
    return handle


def delete(kind: Kind) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    def handle(body: dict[str, Any], _key: Any) -> dict[str, Any]:
        existing = _get(kind, parse(DefinitionRequest, body).Definition)
        assert existing.Mps is not None
        users = [w.WorkflowId for w in workflows.mps_workflows() if w.Mps and any(
            ref.Type == kind.set_type and ref.Definition == existing.Mps.Definition for ref in w.Mps.Refs.values())]
        if users:
            raise InvalidInputError(f"Definition: template {existing.Mps.Definition} is used by workflow(s) "
                                    f"{', '.join(users)}; reset or delete them first", code="ResourceInUse")
        store_templates.delete_account_template(existing.TemplateId)
        return {}
    return handle


def describe(kind: Kind) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    def handle(body: dict[str, Any], _key: Any) -> dict[str, Any]:
        request = parse(DescribeTemplatesRequest, body)
        shown = [*([] if request.Type == "Custom" else presets(kind)),
                 *([] if request.Type == "Preset" else [_custom_element(t) for t in _custom(kind)])]
        shown = [t for t in shown if (not request.Definitions or t["Definition"] in request.Definitions)
                 and (not request.Name or t["Name"] == request.Name)]
        return {"TotalCount": len(shown),
                f"{kind.name}TemplateSet": shown[request.Offset: request.Offset + request.Limit]}
    return handle


def _custom_element(template: Template) -> dict[str, Any]:
    assert template.Mps is not None
    return {**template.Mps.Fields, "Definition": template.Mps.Definition, "Type": "Custom", "Name": template.Name,
            "CreateTime": mps_time(template.CreateTime), "UpdateTime": mps_time(template.UpdateTime)}


PRESET_FIELDS: dict[str, dict[int, dict[str, Any]]] = {
    "SnapshotByTimeOffset": {10: {"Name": "source size jpg", "Width": 0, "Height": 0, "Format": "jpg"}},
    "SampleSnapshot": {10: {"Name": "every 10 %", "SampleType": "Percent", "SampleInterval": 10, "Width": 0,
                            "Height": 0, "Format": "jpg"}},
    "ImageSprite": {10: {"Name": "10x10 sprites every 10 s", "SampleType": "Time", "SampleInterval": 10, "RowCount": 10,
                         "ColumnCount": 10, "Width": 142, "Height": 80, "Format": "jpg"}},
    "AnimatedGraphics": {20000: {"Name": "gif 320 wide", "Fps": 15, "Width": 320, "Height": 0, "Format": "gif",
                                 "Quality": 75}},
}


def presets(kind: Kind) -> list[dict[str, Any]]:
    """The presets as the Describe call lists them: Type Preset, with their published Definitions."""
    if kind.name == "Transcode":
        listed = {}
        for definition, preset in DEFINITIONS["Transcode"].items():
            name, _, params = OFFICIAL[preset.operation["TemplateId"]]
            video, audio = params.get("Video", {}), params.get("Audio", {})
            listed[definition] = {
                "Name": name, "Container": params["Container"]["Format"], "RemoveVideo": 0, "RemoveAudio": 0,
                "VideoTemplate": {"Codec": "libx264", "Width": int(video.get("Width") or 0),
                                  "Height": int(video.get("Height") or 0), "Bitrate": int(video.get("Bitrate") or 0),
                                  "Fps": float(video.get("Fps") or 0)},
                "AudioTemplate": {"Codec": "libfdk_aac", "Bitrate": int(audio.get("Bitrate") or 0),
                                  "SampleRate": int(audio.get("Samplerate") or 44100),
                                  "AudioChannel": int(audio.get("Channels") or 2)}}
    else:
        listed = PRESET_FIELDS[kind.name]
    return [{**fields, "Definition": definition, "Type": "Preset", "Comment": ""} for definition, fields in listed.items()]


ACTIONS: dict[str, Callable[[dict[str, Any], Any], dict[str, Any]]] = {}
for _kind in KINDS.values():
    ACTIONS |= {f"Create{_kind.name}Template": create(_kind), f"Modify{_kind.name}Template": modify(_kind),
                f"Delete{_kind.name}Template": delete(_kind), f"Describe{_kind.name}Templates": describe(_kind)}


def contract() -> dict[str, tuple[type[Wire], dict[str, Any]]]:
    """Each template action's request model and answer fields, for the published contract."""
    element = {"type": "object", "required": ["Definition", "Type"],
               "properties": {"Definition": {"type": "integer"}, "Type": {"enum": ["Preset", "Custom"]}}}
    described: dict[str, tuple[type[Wire], dict[str, Any]]] = {}
    for kind in KINDS.values():
        described |= {
            f"Create{kind.name}Template": (kind.fields, {"Definition": {"type": "integer"}}),
            f"Modify{kind.name}Template": (ModifyRequest[kind.name], {}),
            f"Delete{kind.name}Template": (DefinitionRequest, {}),
            f"Describe{kind.name}Templates": (DescribeTemplatesRequest, {
                "TotalCount": {"type": "integer"}, f"{kind.name}TemplateSet": {"type": "array", "items": element}}),
        }
    return described
