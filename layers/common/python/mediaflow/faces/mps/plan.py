"""The MPS JSON face (ProcessMedia, DescribeTaskDetail, DescribeTasks, task notifications) as a
pure translation layer: requests in, plans out; stored records in, response bodies out.

A ProcessMedia task is one execution with one job per subtask, the same machinery as a COS CI
job. `plan_task` turns a request into that plan (no storage, no HTTP); the API stores the jobs,
then a `TaskInfo` (the `plan_info` of the renderers) beside the execution, so that each job can
be rendered back as the subtask it came from. Field names and types follow the Tencent Cloud SDK
(`tencentcloud.mps.v20190612.models`), so that its clients parse our answers without warnings.
"""

from __future__ import annotations

import copy
import posixpath
import re
from collections.abc import Callable, Sequence
from typing import Any, Literal, NamedTuple, NoReturn
from urllib.parse import unquote, urlsplit

from pydantic import BaseModel

from ...control.templates import OFFICIAL
from ...exceptions import InvalidInputError
from ...models import NotifyConfig
from ...shapes.mps import (
    SET_KINDS,
    WEBVTT_NAME,
    SetKind,
    StorageType,
    SubtaskRef,
    TaskInfo,
)
from .presets import DEFINITIONS, CustomPreset, Preset
from .template_kinds import overridden, raw_transcode
from .wire import (
    MediaInputInfo,
    MediaProcessTaskInput,
    ProcessMediaRequest,
    parse,
    TaskNotifyConfig,
    TaskOutputStorage,
)

MAX_SUBTASKS = 20


# ------------------------------------------------------------------ the plan
class Subtask(NamedTuple):
    """One job to create: `templates.build_operation(tag, operation, ...)` builds its Operation."""

    set_type: str
    index: int
    tag: str
    operation: dict[str, Any]
    definition: int



class TaskPlan(BaseModel):
    """What a ProcessMedia request asks for, in our terms.

    Input: `bucket` + `key` (COS and AWS-S3 alike: bucket names are used as they are) or `url`.
    `output_bucket`/`output_region` None means "inherited": the caller's default output bucket,
    which for MPS is the input's own bucket (and, for URL input, never happens)."""

    input_type: Literal["COS", "AWS-S3", "URL"]
    bucket: str | None = None
    key: str | None = None
    region: str | None = None
    url: str | None = None
    output_type: StorageType
    output_bucket: str | None = None
    output_region: str | None = None
    output_dir: str = ""  # key prefix of relative output names, "" or ending in "/"
    subtasks: list[Subtask]
    refs: list[SubtaskRef]  # one per subtask, in the same order
    priority: int = 0
    notify: NotifyConfig | None = None
    notify_type: str | None = None
    notify_mode: Literal["Finish", "Change"] = "Finish"
    notify_key: str | None = None
    session_id: str = ""
    session_context: str = ""
    input_info: dict[str, Any]  # InputInfo as given (the fields we know), without secrets
    notify_info: dict[str, Any] | None = None  # TaskNotifyConfig as given, without NotifyKey
    task_type: Literal["WorkflowTask", "EditMediaTask"] = "WorkflowTask"
    file_infos: list[dict[str, Any]] | None = None  # EditMedia's FileInfos as given

    @property
    def url_name(self) -> str:
        """The file name in a URL input: import the URL under a key ending with it, so that
        `${InputName}` in the output names stands for it."""
        name = posixpath.basename(unquote(urlsplit(self.url or "").path))
        return name or "input"

    def task_info(self, task_id: str, job_ids: Sequence[str]) -> TaskInfo:
        """The record to store with the execution, once the subtasks' jobs have ids (same order)."""
        if len(job_ids) != len(self.refs):
            raise ValueError(f"{len(job_ids)} job ids for {len(self.refs)} subtasks")
        return TaskInfo(
            TaskId=task_id, InputInfo=self.input_info, TasksPriority=self.priority,
            SessionId=self.session_id, SessionContext=self.session_context,
            TaskNotifyConfig=self.notify_info, NotifyKey=self.notify_key,
            Subtasks=dict(zip(job_ids, self.refs)), TaskType=self.task_type, FileInfos=self.file_infos,
        )


def plan_task(request_json: dict[str, Any], custom: CustomPreset | None = None) -> TaskPlan:
    """Validate a ProcessMedia request body and plan its subtasks; InvalidInputError naming the field.
    `custom` finds what a Definition that is not a preset stands for (the custom templates)."""
    request = parse(ProcessMediaRequest, request_json)
    _refuse_unsupported(request)
    input_type, bucket, key, region, url = source_of(request.InputInfo)
    out_type, out_bucket, out_region = _top_storage(request, input_type)
    if request.OutputDir is not None:
        output_dir = request.OutputDir.lstrip("/")
    else:  # MPS: the input's own directory
        output_dir = posixpath.dirname(key) + "/" if key and "/" in key else ""
    tasks = request.MediaProcessTask or MediaProcessTaskInput()
    subtasks: list[Subtask] = []
    refs: list[SubtaskRef] = []
    for kind in SET_KINDS:
        for index, item in enumerate(getattr(tasks, kind.field)):
            where = f"MediaProcessTask.{kind.field}[{index}]"
            preset = DEFINITIONS[kind.type].get(item.Definition) or (custom and custom(kind.type, item.Definition))
            if kind.type == "Transcode" and item.Definition == 0 and item.RawParameter:  # a template given inline
                raw = _within(f"{where}.RawParameter", raw_transcode, item.RawParameter)
                preset = Preset({"Transcode": raw}, raw["Container"]["Format"])
            if not preset:
                known = ", ".join(map(str, DEFINITIONS[kind.type]))
                _refuse(f"{where}.Definition", f"unknown Definition {item.Definition}; the presets are {known}, "
                                               "or a custom template's")
            storage = _task_storage(item.OutputStorage, (out_type, out_bucket, out_region), f"{where}.OutputStorage")
            operation = _operation(kind, item, preset, where, storage, output_dir)
            tag = kind.tag
            if kind.type == "Transcode" and item.WatermarkSet:
                operation["Watermark"] = _watermarks(item.WatermarkSet, f"{where}.WatermarkSet", custom)
            if kind.type == "Transcode" and item.HeadTailParameter:
                tag, operation = "Concat", _with_head_tail(operation, item, bucket, where)
            # The queue orders by the execution's priority (TasksPriority as given); JobLevel on the
            # job record only has CI's 0..2, so it carries the priority clipped to that range.
            operation["JobLevel"] = max(0, min(2, request.TasksPriority))
            subtasks.append(Subtask(kind.type, index, tag, operation, item.Definition))
            refs.append(SubtaskRef(Type=kind.type, Index=index, Definition=item.Definition, StorageType=storage[0],
                                   Input=item.given()))
    if not subtasks:
        _refuse("MediaProcessTask", "at least one task is required", code="MissingParameter")
    if len(subtasks) > MAX_SUBTASKS:
        _refuse("MediaProcessTask", f"{len(subtasks)} subtasks; at most {MAX_SUBTASKS} are allowed")
    notify, notify_type = notify_rule(request.TaskNotifyConfig)
    config = request.TaskNotifyConfig
    return TaskPlan(
        input_type=input_type, bucket=bucket, key=key, region=region, url=url,
        output_type=out_type, output_bucket=out_bucket, output_region=out_region, output_dir=output_dir,
        subtasks=subtasks, refs=refs, priority=request.TasksPriority,
        notify=notify, notify_type=notify_type,
        notify_mode=config.NotifyMode if config else "Finish", notify_key=config.NotifyKey if config else None,
        session_id=request.SessionId, session_context=request.SessionContext,
        input_info=request.InputInfo.given(),
        notify_info=config.given(exclude={"NotifyKey"}) if config else None,
    )


# ------------------------------------------------------------------ planning helpers
def _refuse(where: str, message: str, code: str = "InvalidParameterValue") -> NoReturn:
    raise InvalidInputError(f"{where}: {message}", code=code)


def _refuse_unsupported(request: ProcessMediaRequest) -> None:
    """Parts of MPS we do not do are refused: running a request without them would be a lie."""
    for name in ("ScheduleId", "Activities", "AiContentReviewTask", "AiAnalysisTask", "AiRecognitionTask",
                 "AiQualityControlTask", "SmartSubtitlesTask", "SmartEraseTask", "AIDubbingTask"):
        if getattr(request, name):
            _refuse(name, "not supported by this service")
    tasks = request.MediaProcessTask
    if tasks is None:
        return
    if tasks.AdaptiveDynamicStreamingTaskSet:
        _refuse("MediaProcessTask.AdaptiveDynamicStreamingTaskSet", "not supported by this service")
    for kind in SET_KINDS:
        for index, item in enumerate(getattr(tasks, kind.field)):
            for name in ("WatermarkSet", "RawParameter", "OverrideParameter", "MosaicSet", "BlindWatermark",
                         "HeadTailParameter"):
                if getattr(item, name, None) and not (kind.type == "Transcode" and name != "BlindWatermark"):
                    _refuse(f"MediaProcessTask.{kind.field}[{index}].{name}", "not supported by this service")


def source_of(info: MediaInputInfo) -> tuple[Any, str | None, str | None, str | None, str | None]:
    """(type, bucket, key, region, url). MPS object paths start with "/"; S3 keys do not."""
    if info.Type == "COS":
        if info.CosInputInfo is None:
            _refuse("InputInfo.CosInputInfo", "required when InputInfo.Type is COS", code="MissingParameter")
        cos = info.CosInputInfo
        return "COS", cos.Bucket, _key(cos.Object, "InputInfo.CosInputInfo.Object"), cos.Region, None
    if info.Type == "AWS-S3":
        if info.S3InputInfo is None:
            _refuse("InputInfo.S3InputInfo", "required when InputInfo.Type is AWS-S3", code="MissingParameter")
        s3 = info.S3InputInfo
        return "AWS-S3", s3.S3Bucket, _key(s3.S3Object, "InputInfo.S3InputInfo.S3Object"), s3.S3Region, None
    if info.UrlInputInfo is None:
        _refuse("InputInfo.UrlInputInfo", "required when InputInfo.Type is URL", code="MissingParameter")
    return "URL", None, None, None, info.UrlInputInfo.Url


def _key(path: str, where: str) -> str:
    key = path.lstrip("/")
    if not key or key.endswith("/"):
        _refuse(where, f"{path!r} is not an object")
    return key


Storage = tuple[StorageType, str | None, str | None]  # (type, bucket, region); None: inherited


def _top_storage(request: ProcessMediaRequest, input_type: str) -> Storage:
    if request.OutputStorage is None:
        if input_type == "URL":
            _refuse("OutputStorage", "required when InputInfo.Type is URL", code="MissingParameter")
        return input_type, None, None  # type: ignore[return-value]  # COS or AWS-S3 here
    storage = _task_storage(request.OutputStorage, ("COS", None, None), "OutputStorage")
    if input_type == "URL" and not storage[1]:
        _refuse("OutputStorage", "a bucket is required when InputInfo.Type is URL", code="MissingParameter")
    return storage


def _task_storage(given: TaskOutputStorage | None, inherited: Storage, where: str) -> Storage:
    """A storage given at this level, its empty fields inherited from the level above."""
    if given is None:
        return inherited
    if given.Type == "COS":
        if given.CosOutputStorage is None:
            _refuse(f"{where}.CosOutputStorage", "required when Type is COS", code="MissingParameter")
        bucket, region = given.CosOutputStorage.Bucket, given.CosOutputStorage.Region
    else:
        if given.S3OutputStorage is None:
            _refuse(f"{where}.S3OutputStorage", "required when Type is AWS-S3", code="MissingParameter")
        bucket, region = given.S3OutputStorage.S3Bucket, given.S3OutputStorage.S3Region
    return given.Type, bucket or inherited[1], region or inherited[2]


_MPS_VARIABLE = re.compile(r"\{(inputName|definition|number|format)\}", re.IGNORECASE)


def object_key(path: str | None, default: str, *, output_dir: str, definition: int, ext: str = "${ext}") -> str:
    """An output key from an MPS OutputObjectPath (absolute, or relative to OutputDir), its MPS
    variables turned into ours; the definition is known, so it is written in directly."""
    name = path or default
    key = name.lstrip("/") if name.startswith("/") else output_dir + name
    ours = {"inputname": "${InputName}", "definition": str(definition), "number": "${Number}", "format": ext}
    return _MPS_VARIABLE.sub(lambda match: ours[match.group(1).lower()], key)


def _operation(kind: SetKind, item: Any, preset: Preset, where: str, storage: Storage,
               output_dir: str) -> dict[str, Any]:
    operation = copy.deepcopy(preset.operation)
    name = object_key(item.OutputObjectPath, kind.default_name, output_dir=output_dir, definition=item.Definition)
    output: dict[str, Any] = {"Bucket": storage[1], "Region": storage[2], "Object": name}
    if kind.type == "Transcode":
        interval = _time_interval(item, where)
        mosaic = [{"CoordinateOrigin": m.CoordinateOrigin, "XPos": m.XPos, "YPos": m.YPos, "Width": m.Width,
                   "Height": m.Height, "StartTime": m.StartTimeOffset, "EndTime": m.EndTimeOffset}
                  for m in item.MosaicSet or []]
        if interval or mosaic or item.OverrideParameter:
            # build_operation takes a TemplateId's parameters whole, so a cut or a mosaic spells them out.
            params = (copy.deepcopy(OFFICIAL[operation.pop("TemplateId")][2]) if "TemplateId" in operation
                      else operation.pop("Transcode"))  # a custom template's parameters are already spelt out
            if item.OverrideParameter:
                params = _within(f"{where}.OverrideParameter", overridden, params, item.OverrideParameter)
            operation["Transcode"] = params | ({"TimeInterval": interval} if interval else {}) | (
                {"Mosaic": [{k: v for k, v in m.items() if v is not None} for m in mosaic]} if mosaic else {})
    elif kind.type == "AnimatedGraphics":
        interval = _time_interval(item, where)
        if interval:
            operation["Animation"]["TimeInterval"] = interval
    elif kind.type == "SnapshotByTimeOffset":
        offsets = item.ExtTimeOffsetSet or [f"{_number(t)}s" for t in item.TimeOffsetSet or []]
        if not offsets:
            _refuse(f"{where}.ExtTimeOffsetSet", "at least one time point is required", code="MissingParameter")
        operation["Snapshot"]["ExtTimeOffsetSet"] = offsets
    elif kind.type == "ImageSprites":
        # The sheets are the sprite objects; Object names the WebVTT that maps times to cells.
        output["SpriteObject"] = name
        output["Object"] = object_key(item.WebVttObjectName, WEBVTT_NAME, output_dir=output_dir,
                                      definition=item.Definition, ext="vtt")
    operation["Output"] = {k: v for k, v in output.items() if v is not None}
    return operation


def _with_head_tail(operation: dict[str, Any], item: Any, bucket: str | None, where: str) -> dict[str, Any]:
    """A transcode with intros and outros is a join (our Concat): the heads, the input, the tails,
    encoded with the transcode's parameters."""
    at = f"{where}.HeadTailParameter"
    if "Watermark" in operation or {"TimeInterval", "Mosaic"} & set(operation.get("Transcode") or {}):
        _refuse(at, "cannot be combined with a WatermarkSet, a MosaicSet or a StartTimeOffset/EndTimeOffset cut")
    parts = []
    for mode, field in (("Start", "HeadSet"), ("End", "TailSet")):
        for index, info in enumerate(getattr(item.HeadTailParameter, field)):
            kind, part_bucket, key, _, _ = source_of(info)
            if kind == "URL" or part_bucket != bucket:
                _refuse(f"{at}.{field}[{index}]", f"must be an object of the input's bucket {bucket}")
            parts.append({"Url": key, "Mode": mode})
    if not parts:
        _refuse(at, "HeadSet or TailSet is required", code="MissingParameter")
    params = (copy.deepcopy(OFFICIAL[operation["TemplateId"]][2]) if "TemplateId" in operation
              else operation["Transcode"])
    encoding = {k: params[k] for k in ("Container", "Video", "Audio") if k in params}
    return {"ConcatTemplate": {"ConcatFragment": parts, **encoding}, "Output": operation["Output"]}


MAX_WATERMARKS = 3  # on one transcode, as the COS face allows


def _watermarks(marks: list[Any], where: str, custom: CustomPreset | None) -> list[dict[str, Any]]:
    """Our watermarks from a WatermarkSet: each template's, its text and time range as the item gives."""
    if len(marks) > MAX_WATERMARKS:
        _refuse(where, f"{len(marks)} watermarks; at most {MAX_WATERMARKS} on one transcode")
    made = []
    for index, mark in enumerate(marks):
        at = f"{where}[{index}]"
        for name in ("RawParameter", "SvgContent"):
            if getattr(mark, name):
                _refuse(f"{at}.{name}", "not supported by this service")
        template = custom("Watermark", mark.Definition) if custom else None
        if not template:
            _refuse(f"{at}.Definition", f"{mark.Definition} is not a watermark template")
        params = copy.deepcopy(template.operation["Watermark"])
        if params.get("Text") is not None:
            params["Text"]["Text"] = (mark.TextContent or params["Text"]["Text"]).strip() or _refuse(
                f"{at}.TextContent", "a text watermark needs its text", code="MissingParameter")
        if mark.EndTimeOffset and mark.EndTimeOffset <= (mark.StartTimeOffset or 0):
            _refuse(f"{at}.EndTimeOffset", "must be after StartTimeOffset")
        params |= {k: v for k, v in (("StartTime", mark.StartTimeOffset), ("EndTime", mark.EndTimeOffset)) if v}
        made.append(params)
    return made


def _within(where: str, make: Callable[..., Any], *args: Any) -> Any:
    """`make(*args)`, its refusal naming the field it came from."""
    try:
        return make(*args)
    except InvalidInputError as error:
        raise InvalidInputError(f"{where}.{error.message}", code=error.code) from None


def _time_interval(item: Any, where: str) -> dict[str, str] | None:
    """Start/EndTimeOffset (seconds) as our TimeInterval; None for the whole file."""
    start, end = item.StartTimeOffset or 0.0, item.EndTimeOffset or 0.0
    for name, value in (("StartTimeOffset", start), ("EndTimeOffset", end)):
        if value < 0:  # MPS counts a negative offset from the end; the duration is not known here
            _refuse(f"{where}.{name}", "offsets from the end (negative values) are not supported")
    if end and end <= start:
        _refuse(f"{where}.EndTimeOffset", f"{_number(end)} must be after StartTimeOffset {_number(start)}")
    if not start and not end:
        return None
    return {"Start": _number(start), **({"Duration": _number(end - start)} if end else {})}


def _number(value: float) -> str:
    value = round(value, 3)  # the reference's millisecond precision; also hides float noise
    return str(int(value)) if value == int(value) else str(value)


def notify_rule(config: TaskNotifyConfig | None) -> tuple[NotifyConfig | None, str | None]:
    """Our notification rule for a TaskNotifyConfig. The message-queue kinds (TDMQ-CMQ, CMQ and
    AWS-SQS) all land on our message-queue rule, which SQS/SNS plays."""
    if config is None:
        return None, None
    kind = config.NotifyType or "TDMQ-CMQ"
    where = "TaskNotifyConfig"
    if kind == "URL":
        if not config.NotifyUrl:
            _refuse(f"{where}.NotifyUrl", "required when NotifyType is URL", code="MissingParameter")
        return NotifyConfig(State="On", Type="Url", Url=config.NotifyUrl, Event="TaskFinish,WorkflowFinish",
                            ResultFormat="JSON"), kind
    if kind in ("TDMQ-CMQ", "CMQ"):
        mode = config.CmqModel or "Queue"
        name = config.TopicName if mode == "Topic" else config.QueueName
        if not name:
            if not config.NotifyType:
                return None, None  # an empty config: MPS's default type, but nowhere to send to
            _refuse(f"{where}.{'TopicName' if mode == 'Topic' else 'QueueName'}", f"required when CmqModel is {mode}",
                    code="MissingParameter")
        return NotifyConfig(State="On", Type="TDMQ", MqMode=mode, MqRegion=config.CmqRegion, MqName=name,
                            Event="TaskFinish,WorkflowFinish", ResultFormat="JSON"), kind
    if kind == "AWS-SQS":
        if config.AwsSQS is None:
            _refuse(f"{where}.AwsSQS", "required when NotifyType is AWS-SQS", code="MissingParameter")
        return NotifyConfig(State="On", Type="TDMQ", MqMode="Queue", MqRegion=config.AwsSQS.SQSRegion,
                            MqName=config.AwsSQS.SQSQueueName, Event="TaskFinish,WorkflowFinish",
                            ResultFormat="JSON"), kind
    _refuse(f"{where}.NotifyType", f"{kind!r} is not supported; use URL, TDMQ-CMQ or AWS-SQS")

