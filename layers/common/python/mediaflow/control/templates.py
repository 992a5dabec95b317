"""Parameter templates: the Official presets that ship with the code, the Custom templates a bucket
creates through the API, and the resolution of an <Operation> into parameters.

Ids and names of the presets are Tencent's (reference §3); parameters follow the reference's table
(all transcode presets are H.264 + AAC 128 kbps; the table gives the width and video bitrate).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from .. import ids
from ..docs.params import DocParams
from ..exceptions import InvalidInputError, NotFoundError
from ..media.params import (
    AnimationParams,
    ConcatParams,
    Params,
    SegmentParams,
    SnapshotParams,
    TranscodeParams,
)
from ..media.watermark import MAX_WATERMARKS, WatermarkParams
from ..models import Feature, Model, Operation
from ..persistence import store
from ..speech.params import SpeechParams
from ..times import now


class MediaInfoParams(Params):
    """A MediaInfo job takes no parameters: it reports the probe of its input."""


# The template and job Tags this build runs, with the model of their parameters. Watermark is a
# template Tag only (a Transcode job carries up to 3); Segment, MediaInfo and DocProcess are job Tags only.
PARAMS: dict[str, type[BaseModel]] = {"Transcode": TranscodeParams, "Snapshot": SnapshotParams, "Animation": AnimationParams,
                                      "Concat": ConcatParams, "Segment": SegmentParams, "MediaInfo": MediaInfoParams,
                                      "Watermark": WatermarkParams, "SpeechRecognition": SpeechParams,
                                      "DocProcess": DocParams}
NUMBERED_TAGS = ("Snapshot", "Segment")  # their Output.Object holds ${Number}
MEDIA_TAGS = ("Transcode", "Snapshot", "Animation", "Concat", "Segment", "MediaInfo")
# Each feature queue's job Tags (/jobs, /asr_jobs, /doc_jobs); a workflow node may be any of them.
FEATURE_TAGS: dict[Feature, tuple[str, ...]] = {"media": MEDIA_TAGS, "speech": ("SpeechRecognition",),
                                                "doc": ("DocProcess",)}
JOB_TAGS = (*MEDIA_TAGS, "SpeechRecognition", "DocProcess")
TEMPLATE_TAGS = ("Transcode", "Snapshot", "Animation", "Concat", "Watermark", "SpeechRecognition")
# The element of a template body or an <Operation> holding the parameters (Concat's is ConcatTemplate);
# Transcode and Animation templates hold theirs at the top level instead.
FIELD = {"Concat": "ConcatTemplate"}
TOP_LEVEL_FIELDS = {"Transcode": ("Container", "Video", "Audio", "TimeInterval", "TransConfig"),
                    "Animation": ("Container", "Video", "TimeInterval")}
CUSTOM_ID = re.compile(r"^t1[0-9a-f]{32}$")
NAME = re.compile(r"^[\w\-*\u4e00-\u9fff]{1,64}$")


def _video(fmt: str, width: int, kbps: int) -> dict[str, Any]:
    return {
        "Container": {"Format": fmt},
        "Video": {"Codec": "H.264", "Width": str(width), "Bitrate": str(kbps), "Profile": "high", "Preset": "medium"},
        "Audio": {"Codec": "aac", "Bitrate": "128", "Samplerate": "44100", "Channels": "2"},
    }


def _snapshot(width: int, height: int, interval: int, count: int) -> dict[str, Any]:
    return {"Mode": "Interval", "Start": "0", "TimeInterval": str(interval), "Count": str(count),
            "Width": str(width), "Height": str(height)}


def _animation(fmt: str, **video: str) -> dict[str, Any]:
    return {"Container": {"Format": fmt}, "Video": {"Codec": fmt, "Width": "320", "Height": "180", **video}}


_LADDER = {"FLU": (640, 512), "SD": (720, 1024), "HD": (1280, 2000), "FHD": (1920, 3500), "2K": (2048, 4800)}
_TRANSCODE_IDS = {
    "MP4-FLU": "t02db40900dc1c43ad9bdbd8acec6075c5", "MP4-SD": "t04e1ab86554984f1aa17c062fbf6c007c",
    "MP4-HD": "t02d06d8ad881648e69f9ca95b2e7e4b6a", "MP4-FHD": "t064fb9214850f49aaac44b5561a7b0b3b",
    "MP4-2K": "t077211ea3e0e74168b8ed921fcb2d5a6b", "FLV-FLU": "t0c9cfaffb5055467691b85eed1242cd03",
    "FLV-SD": "t0b612860a293f410785b3e672465dca38", "FLV-HD": "t0b6a845f5e42847bd810ee9cbf337f83c",
    "FLV-FHD": "t08571e1f229094eb79817f8474987a479", "FLV-2K": "t0f52244b7f3c743eb9f9080b15e5fe2f8",
    "HLS-FLU": "t06e5246d8bf694c88b16ae7512e83962a", "HLS-SD": "t03ed6a4e1b374429eadec266bd6859347",
    "HLS-HD": "t0e09a9456d4124542b1f0e44d501d7182", "HLS-FHD": "t088613dea8d564a9ba7e6b02cbd5de877",
    "HLS-2K": "t08e7237a0975c427cabfa3d958f29aa58",
}

# template id -> (Name, Tag, parameters)
OFFICIAL: dict[str, tuple[str, str, dict[str, Any]]] = {
    **{tid: (name, "Transcode", _video(name.split("-")[0].lower(), *_LADDER[name.split("-")[1]]))
       for name, tid in _TRANSCODE_IDS.items()},
    "t01d40e440761448fc8c538fb8d5a5b81e": ("snapshot_320*180_1", "Snapshot", _snapshot(320, 180, 2, 5)),
    "t0a60a2bc71a4b40c7b3d7f7e8a2779a81": ("snapshot_640*360_2", "Snapshot", _snapshot(640, 360, 10, 5)),
    "t07740e32081b44ad7a0aea03adcffd54a": ("snapshot_1280*720_3", "Snapshot", _snapshot(1280, 720, 10, 5)),
    "t04373959a69c04d47b62fd214dd13d8e9": ("gif_320*180_1", "Animation", _animation("gif", AnimateOnlyKeepKeyFrame="true")),
    "t0341b0ab2b8a340ff826e9cb4f3a7baea": ("gif_320*180_2", "Animation", _animation("gif", AnimateTimeIntervalOfFrame="10")),
    "t046b1d8e5bdf842c6a58d8028b48eafee": ("gif_320*180_3", "Animation", _animation("gif", AnimateFramesPerSecond="10")),
    "t03b0e9eca4fc34e2cba9da89d9c7c13a2": ("webp_320*180_1", "Animation", _animation("webp", AnimateFramesPerSecond="10")),
}


class MpsTemplate(Model):
    """What a template made on the MPS face keeps beside its parameters (faces/mps/templates.py)."""

    Definition: int
    Kind: str  # Transcode, SnapshotByTimeOffset, SampleSnapshot, ImageSprite or AnimatedGraphics
    Fields: dict[str, Any]  # the MPS fields as given (validated), described back as they are


class Template(Model):
    TemplateId: str
    Name: str
    Tag: str
    Category: Literal["Official", "Custom"] = "Custom"
    BucketId: str = ""  # "" for the account-wide templates of the MPS face
    CreateTime: datetime | None = None
    UpdateTime: datetime | None = None
    params: dict[str, Any]  # the validated parameters, as the Tag's model dumps them
    Mps: MpsTemplate | None = None


MPS_TEMPLATES = "MPS#TEMPLATES"  # the gsi2 partition of the MPS face's templates


def template_key(template_id: str) -> tuple[str, str]:
    return f"TEMPLATE#{template_id}", "TEMPLATE"


def official_templates() -> list[Template]:
    return [Template(TemplateId=tid, Name=name, Tag=tag, Category="Official", params=params)
            for tid, (name, tag, params) in OFFICIAL.items()]


def get_template(template_id: str) -> Template:
    if template_id in OFFICIAL:
        name, tag, params = OFFICIAL[template_id]
        return Template(TemplateId=template_id, Name=name, Tag=tag, Category="Official", params=params)
    # Custom ids are "t1" and 32 hex digits; anything else cannot be one (and needs no lookup).
    found = store.get(*template_key(template_id), Template) if CUSTOM_ID.match(template_id) else None
    if found is None:
        raise NotFoundError(f"TemplateId {template_id} does not exist")
    return found[0]


def _supported(tag: Any, tags: tuple[str, ...]) -> str:
    if tag not in tags:
        raise InvalidInputError(f"Tag: {tag!r} is not supported (supported: {', '.join(tags)})")
    return tag


def validate_params(tag: str, params: dict[str, Any], where: str) -> dict[str, Any]:
    _supported(tag, TEMPLATE_TAGS)
    try:
        return PARAMS[tag].model_validate(params or {}).model_dump(mode="json", exclude_none=True)
    except ValidationError as error:
        raise InvalidInputError(f"{where}{_first_error(error)}") from error


def parse_template_request(request: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    """(Tag, Name, parameters) of a CreateMediaTemplate/UpdateMediaTemplate <Request>, validated."""
    tag, name = request.get("Tag"), request.get("Name")
    if not isinstance(tag, str) or not tag:
        raise InvalidInputError("Tag is required", code="InvalidArgument")
    if not isinstance(name, str) or not NAME.match(name):
        raise InvalidInputError("Name is required: up to 64 letters, digits, '_', '-' or '*'")
    if tag in TOP_LEVEL_FIELDS:
        raw = {k: request[k] for k in TOP_LEVEL_FIELDS[tag] if k in request}
    else:
        body = request.get(FIELD.get(tag, tag))
        raw = body if isinstance(body, dict) else {}
    return tag, name, validate_params(tag, raw, "")


def create_template(bucket: str, request: dict[str, Any]) -> Template:
    tag, name, params = parse_template_request(request)
    created = now()
    template = Template(TemplateId=ids.new_id(ids.TEMPLATE + "1"), Name=name, Tag=tag, BucketId=bucket,
                        CreateTime=created, UpdateTime=created, params=params)
    store.put_new(*template_key(template.TemplateId), template,
                  gsi1pk=f"BUCKET#{bucket}#TEMPLATE", gsi1sk=template.TemplateId)
    return template


def _own_custom(bucket: str, template_id: str) -> Template:
    if template_id in OFFICIAL:
        raise InvalidInputError(f"template {template_id} is an Official template: it cannot be changed or deleted")
    template = get_template(template_id)
    if template.BucketId != bucket:
        raise NotFoundError(f"TemplateId {template_id} does not exist")
    return template


def update_template(bucket: str, template_id: str, request: dict[str, Any]) -> Template:
    existing = _own_custom(bucket, template_id)
    tag, name, params = parse_template_request(request)
    if tag != existing.Tag:
        raise InvalidInputError(f"Tag: template {template_id} is a {existing.Tag} template; it cannot become {tag}")

    def change(doc: Template) -> None:
        doc.Name, doc.params, doc.UpdateTime = name, params, now()

    return store.mutate(*template_key(template_id), Template, change)


def create_account_template(template_id: str, name: str, tag: str, params: dict[str, Any], mps: MpsTemplate) -> bool:
    """Store an MPS face template (no bucket); False when the id, made from its Definition, is taken."""
    created = now()
    template = Template(TemplateId=template_id, Name=name, Tag=tag, CreateTime=created, UpdateTime=created,
                        params=params, Mps=mps)
    return store.put_new(*template_key(template_id), template, gsi2pk=MPS_TEMPLATES, gsi2sk=template_id)


def change_account_template(template_id: str, name: str, params: dict[str, Any], fields: dict[str, Any]) -> Template:
    def change(doc: Template) -> None:
        doc.Name, doc.params, doc.UpdateTime = name, params, now()
        if doc.Mps is not None:
            doc.Mps.Fields = fields

    return store.mutate(*template_key(template_id), Template, change)


def delete_account_template(template_id: str) -> None:
    store.delete(*template_key(template_id))


def mps_templates() -> list[Template]:
    return store.query_index(MPS_TEMPLATES, Template, index="gsi2")


def delete_template(bucket: str, template_id: str, in_use: list[str]) -> None:
    """Delete a Custom template; `in_use` names the workflows that still refer to it."""
    _own_custom(bucket, template_id)
    if in_use:
        raise InvalidInputError(f"template {template_id} is used by workflow(s) {', '.join(in_use)}; change them first")
    store.delete(*template_key(template_id))


def list_templates(bucket: str, *, category: str = "Custom", tag: str | None = None, ids_: list[str] | None = None,
                   name: str | None = None) -> list[Template]:
    if category == "Official":
        found = official_templates()
    elif category == "Custom":
        found = sorted(store.query_index(f"BUCKET#{bucket}#TEMPLATE", Template), key=lambda t: t.CreateTime or now())
    else:
        raise InvalidInputError(f"category: {category!r} is not Official or Custom")
    return [t for t in found
            if (not tag or t.Tag == tag) and (not ids_ or t.TemplateId in ids_) and (not name or t.Name.startswith(name))]


def template_detail(template: Template) -> dict[str, Any]:
    """A template as CI renders it: Transcode and Animation parameters sit in TransTpl."""
    container = "TransTpl" if template.Tag in TOP_LEVEL_FIELDS else FIELD.get(template.Tag, template.Tag)
    return {"TemplateId": template.TemplateId, "Name": template.Name, "Tag": template.Tag,
            "Category": template.Category, "BucketId": template.BucketId,
            "CreateTime": template.CreateTime, "UpdateTime": template.UpdateTime, container: template.params}


def build_operation(tag: str, spec: dict[str, Any], *, default_bucket: str, default_region: str) -> Operation:
    """An Operation from a request/node <Operation> element: a TemplateId wins over inline parameters."""
    _supported(tag, JOB_TAGS)
    spec = dict(spec or {})
    output = dict(spec.get("Output") or {}) if isinstance(spec.get("Output") or {}, dict) else {}
    output["Bucket"] = output.get("Bucket") or default_bucket
    output["Region"] = output.get("Region") or default_region
    field = FIELD.get(tag, tag)
    template_id = spec.get("TemplateId") or None
    name = None
    if template_id:
        template = _template_of(template_id, tag, "TemplateId")
        name, spec[field] = template.Name, template.params
    if not isinstance(spec.get(field), dict):
        spec[field] = {}
    if tag != "MediaInfo" and not output.get("Object"):
        raise InvalidInputError("Output.Object is required: the key (with ${...} variables) to write the result to")
    marks, mark_ids = _watermarks(spec) if tag == "Transcode" else ([], [])
    try:
        operation = Operation.model_validate(
            {"TemplateId": template_id, "TemplateName": name, field: spec[field], "Output": output,
             "Watermark": marks, "WatermarkTemplateId": mark_ids,
             "UserData": spec.get("UserData"), "JobLevel": spec.get("JobLevel") or 0}
        )
    except ValidationError as error:
        raise InvalidInputError(f"invalid {tag} parameters: {_first_error(error)}") from error
    numbered = tag == "Segment" or (tag == "Snapshot" and operation.Snapshot and operation.Snapshot.wants_snapshots)
    if numbered and "${number}" not in operation.Output.Object.lower():
        raise InvalidInputError(f"Output.Object: a {tag}'s must contain ${{Number}}, which numbers its files")
    if tag == "DocProcess" and operation.DocProcess and operation.DocProcess.extension != "pdf" \
            and not {"${number}", "${page}"} & set(re.findall(r"\$\{\w+\}", operation.Output.Object.lower())):
        raise InvalidInputError("Output.Object: a DocProcess's must contain ${Number} or ${Page}, which name each page's image")
    return operation


def _template_of(template_id: Any, tag: str, where: str) -> Template:
    if not isinstance(template_id, str):
        raise InvalidInputError(f"{where} must be a single template id")
    try:
        template = get_template(template_id)
    except NotFoundError as error:
        raise InvalidInputError(error.message) from error
    if template.Tag != tag:
        raise InvalidInputError(f"{where}: {template_id} ({template.Name}) is a {template.Tag} template, not {tag}")
    return template


def _as_list(value: Any) -> list[Any]:
    """xmltodict gives one repeated element as itself and several as a list."""
    return [] if value in (None, "") else value if isinstance(value, list) else [value]


def _watermarks(spec: dict[str, Any]) -> tuple[list[dict[str, Any]], list[str]]:
    """A transcode's watermarks: those of its WatermarkTemplateIds, then the inline ones; at most 3."""
    ids_ = [str(i) for i in _as_list(spec.get("WatermarkTemplateId"))]
    marks = [_template_of(i, "Watermark", "WatermarkTemplateId").params for i in ids_]
    marks += [m if isinstance(m, dict) else {} for m in _as_list(spec.get("Watermark"))]
    if len(marks) > MAX_WATERMARKS:
        raise InvalidInputError(f"Watermark: at most {MAX_WATERMARKS} watermarks on one transcode, got {len(marks)}")
    return marks, ids_


def _first_error(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(p) for p in first["loc"])
    return f"{where}: {first['msg']}"


def operation_params(tag: str, operation: Operation) -> BaseModel:
    """The parameters of a job of `tag`."""
    if tag == "MediaInfo":
        return MediaInfoParams()
    params = getattr(operation, FIELD.get(tag, tag), None)
    if params is None:
        raise InvalidInputError(f"the {tag} operation has no parameters")
    return params
