"""MPS templates: Create / Describe / Modify / Delete for Transcode, SnapshotByTimeOffset, SampleSnapshot,
ImageSprite, AnimatedGraphics and Watermark templates (their fields and parameters: `template_kinds`).

One store with the COS face: a custom MPS template is a `control.templates.Template` (account-wide:
no bucket) whose parameters are our Tag's, made from the MPS fields (`Kind.params`), with the MPS
fields kept beside them (`MpsTemplate`) to be described as they were given. Its `Definition` is a
number from 1,000,000 up, so never one of the presets (10, 20000, 100010-100070), and its TemplateId
is derived from it, so the store's conditional create keeps Definitions unique. A task or workflow
that names a custom Definition takes the template's parameters when it is created (`presets.Preset`);
Modify changes what later tasks, and workflows reset later, take."""

from __future__ import annotations

import base64
import copy
import secrets
from collections.abc import Callable
from typing import Any

from ...control import templates as store_templates
from ...control import workflows
from ...control.templates import OFFICIAL, Template
from ...exceptions import InvalidInputError
from ...persistence import storage
from ...shapes.mps import mps_time
from .presets import DEFINITIONS, Preset
from .template_kinds import (
    KIND_OF_SET,
    KINDS,
    LAST_CUSTOM,
    DefinitionRequest,
    DescribeTemplatesRequest,
    DescribeWatermarkTemplatesRequest,
    Kind,
    ModifyRequest,
    Named,
)
from .wire import Wire, parse

FIRST_CUSTOM = 1_000_000


# ------------------------------------------------------------------ the store
def template_id(definition: int) -> str:
    return f"t1{definition:032x}"


def _custom(kind: Kind) -> list[Template]:
    return [t for t in store_templates.mps_templates() if t.Mps and t.Mps.Kind == kind.name]


def _get(kind: Kind, definition: int) -> Template:
    found = next((t for t in _custom(kind) if t.Mps and t.Mps.Definition == definition), None)
    if found is None:
        preset = definition in DEFINITIONS.get(kind.set_type, {})
        raise InvalidInputError(f"Definition: {definition} is a preset, which cannot be changed" if preset else
                                f"Definition: {definition} is not a {kind.name} template",
                                code="InvalidParameterValue" if preset else "ResourceNotFound.TemplateNotExist")
    return found


def _store_image(mark: dict[str, Any], given: Any, name: str, before: dict[str, Any] | None) -> dict[str, Any]:
    """Keep a watermark image (base64 in ImageContent) in the stack's own bucket, where units read it;
    a Modify that sends no image keeps the one it had."""
    content = given.ImageTemplate.ImageContent
    if content is None:
        kept = (before or {}).get("Image", {}).get("Url")
        if not kept:
            raise InvalidInputError("ImageTemplate.ImageContent is required for an image watermark",
                                    code="MissingParameter")
        return {**mark, "Image": {**mark["Image"], "Url": kept}}
    try:
        image = base64.b64decode(content, validate=True)
    except ValueError as error:
        raise InvalidInputError("ImageTemplate.ImageContent: not base64", code="InvalidParameterValue") from error
    kinds = {b"\x89PNG\r\n\x1a\n": "png", b"\xff\xd8\xff": "jpg"}
    ext = next((ext for magic, ext in kinds.items() if image.startswith(magic)), None)
    if ext is None:
        raise InvalidInputError("ImageTemplate.ImageContent: a PNG or JPEG image is required", code="InvalidParameterValue")
    url = storage.put_asset(f"watermarks/{name}.{ext}", image)
    return {**mark, "Image": {**mark["Image"], "Url": url}}


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


def _kept(given: Named) -> dict[str, Any]:
    """The fields described back: a watermark image is kept once, as a file, not again in the record."""
    fields = given.given()
    if isinstance(fields.get("ImageTemplate"), dict):
        fields["ImageTemplate"] = {k: v for k, v in fields["ImageTemplate"].items() if k != "ImageContent"}
    return fields


def create(kind: Kind) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    def handle(body: dict[str, Any], _key: Any) -> dict[str, Any]:
        given, params = _validated(kind, body)
        while True:
            definition = FIRST_CUSTOM + secrets.randbelow(LAST_CUSTOM - FIRST_CUSTOM + 1)
            if kind.name == "Watermark" and given.Type == "image":
                params = _store_image(params, given, template_id(definition), None)
            mps = store_templates.MpsTemplate(Definition=definition, Kind=kind.name, Fields=_kept(given))
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
        if kind.name == "Watermark" and given.Type == "image":
            params = _store_image(params, given, existing.TemplateId, existing.params)
        store_templates.change_account_template(existing.TemplateId, given.Name, params, _kept(given))
        return {}
    return handle


def delete(kind: Kind) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    def handle(body: dict[str, Any], _key: Any) -> dict[str, Any]:
        existing = _get(kind, parse(DefinitionRequest, body).Definition)
        assert existing.Mps is not None
        users = [w.WorkflowId for w in [*workflows.mps_workflows(), *workflows.mps_workflows("Schedule")] if w.Mps and any(
            ref.Type == kind.set_type and ref.Definition == existing.Mps.Definition for ref in w.Mps.Refs.values())]
        if users:
            raise InvalidInputError(f"Definition: template {existing.Mps.Definition} is used by workflow(s) "
                                    f"{', '.join(users)}; reset or delete them first", code="ResourceInUse")
        store_templates.delete_account_template(existing.TemplateId)
        return {}
    return handle


def describe(kind: Kind) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    def handle(body: dict[str, Any], _key: Any) -> dict[str, Any]:
        request = parse(describe_request(kind), body)
        shown = [t for t in [*presets(kind), *map(_custom_element, _custom(kind))]
                 if request.Type in (None, t["Type"]) and (not request.Definitions or t["Definition"] in request.Definitions)
                 and (not request.Name or t["Name"] == request.Name)]
        return {"TotalCount": len(shown),
                f"{kind.name}TemplateSet": shown[request.Offset: request.Offset + request.Limit]}
    return handle


def describe_request(kind: Kind) -> type[DescribeTemplatesRequest]:
    """A watermark's Type is image or text (the SDK's WatermarkTemplate.Type); the others' Preset or Custom."""
    return DescribeWatermarkTemplatesRequest if kind.name == "Watermark" else DescribeTemplatesRequest


def _custom_element(template: Template) -> dict[str, Any]:
    assert template.Mps is not None
    # Type is Custom, but a watermark's own Type (image or text) is the SDK's WatermarkTemplate.Type
    return {"Type": "Custom", **template.Mps.Fields, "Definition": template.Mps.Definition, "Name": template.Name,
            "CreateTime": mps_time(template.CreateTime), "UpdateTime": mps_time(template.UpdateTime)}


PRESET_FIELDS: dict[str, dict[int, dict[str, Any]]] = {
    "SnapshotByTimeOffset": {10: {"Name": "source size jpg", "Width": 0, "Height": 0, "Format": "jpg"}},
    "SampleSnapshot": {10: {"Name": "every 10 %", "SampleType": "Percent", "SampleInterval": 10, "Width": 0,
                            "Height": 0, "Format": "jpg"}},
    "ImageSprite": {10: {"Name": "10x10 sprites every 10 s", "SampleType": "Time", "SampleInterval": 10, "RowCount": 10,
                         "ColumnCount": 10, "Width": 142, "Height": 80, "Format": "jpg"}},
    "Watermark": {},
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
            f"Describe{kind.name}Templates": (describe_request(kind), {
                "TotalCount": {"type": "integer"}, f"{kind.name}TemplateSet": {"type": "array", "items": element}}),
        }
    return described
