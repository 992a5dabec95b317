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
import hashlib
import posixpath
import re
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any, Literal, NamedTuple, NoReturn
from urllib.parse import unquote, urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ...exceptions import InvalidInputError
from ...media.params import MAX_TIME_OFFSETS, TIME_OFFSET
from ...models import FINAL_STATES, Execution, Job, NotifyConfig
from ...control.templates import OFFICIAL

SetType = Literal["Transcode", "AnimatedGraphics", "SnapshotByTimeOffset", "SampleSnapshot", "ImageSprites"]
StorageType = Literal["COS", "AWS-S3"]
MAX_SUBTASKS = 20
UNSET_TIME = "0000-00-00T00:00:00Z"
NOTIFY_TTL = timedelta(minutes=10)  # MPS notifications carry their expiry time, 10 minutes ahead
TASK_ID = re.compile(r"^mediaflow-WorkflowTask-[0-9a-f]{32}t0$")


# ------------------------------------------------------------------ request models (SDK shapes)
class Wire(BaseModel):
    """A request structure: unknown fields ignored, and null read as "not given".

    The SDK's `to_json_string()` sends every field it knows, unset ones as null."""

    model_config = ConfigDict(extra="ignore", allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _drop_nulls(cls, data: Any) -> Any:
        return {k: v for k, v in data.items() if v is not None} if isinstance(data, dict) else data


def _required() -> Any:
    return Field(min_length=1)


class CosInputInfo(Wire):
    Bucket: str = _required()
    Region: str = _required()
    Object: str = _required()


class S3InputInfo(Wire):
    S3Bucket: str = _required()
    S3Region: str = _required()
    S3Object: str = _required()
    # S3SecretId/S3SecretKey are ignored: we read with our own role and never store secrets.


class UrlInputInfo(Wire):
    Url: str = _required()

    @field_validator("Url")
    @classmethod
    def _http(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("must be an http(s) URL")
        return value


# Field names below repeat the class names (as in the SDK), so the types are referenced through aliases.
_CosInputInfo, _UrlInputInfo, _S3InputInfo = CosInputInfo, UrlInputInfo, S3InputInfo


class MediaInputInfo(Wire):
    Type: Literal["COS", "URL", "AWS-S3"]
    CosInputInfo: _CosInputInfo | None = None
    UrlInputInfo: _UrlInputInfo | None = None
    S3InputInfo: _S3InputInfo | None = None


class CosOutputStorage(Wire):
    Bucket: str | None = None  # None: inherited from the level above
    Region: str | None = None


class S3OutputStorage(Wire):
    S3Bucket: str | None = None
    S3Region: str | None = None


_CosOutputStorage, _S3OutputStorage = CosOutputStorage, S3OutputStorage


class TaskOutputStorage(Wire):
    Type: StorageType
    CosOutputStorage: _CosOutputStorage | None = None
    S3OutputStorage: _S3OutputStorage | None = None


class TaskInput(Wire):
    Definition: int
    OutputStorage: TaskOutputStorage | None = None
    OutputObjectPath: str | None = None
    # Accepted by MPS but not done here: refused rather than silently dropped (see _refuse_unsupported).
    WatermarkSet: list[Any] | None = None


class TranscodeTaskInput(TaskInput):
    StartTimeOffset: float | None = None
    EndTimeOffset: float | None = None
    RawParameter: Any = None
    OverrideParameter: Any = None
    MosaicSet: list[Any] | None = None
    BlindWatermark: Any = None
    HeadTailParameter: Any = None


class SnapshotByTimeOffsetTaskInput(TaskInput):
    ExtTimeOffsetSet: list[str] | None = Field(default=None, max_length=MAX_TIME_OFFSETS)
    TimeOffsetSet: list[float] | None = Field(default=None, max_length=MAX_TIME_OFFSETS)  # deprecated: seconds

    @field_validator("ExtTimeOffsetSet")
    @classmethod
    def _offsets(cls, values: list[str] | None) -> list[str] | None:
        for value in values or []:
            match = TIME_OFFSET.match(value.strip())
            if not match:
                raise ValueError(f"{value!r} is not a time point such as '3.5s' or '10%'")
            if match["unit"] == "%" and float(match["value"]) > 100:
                raise ValueError(f"{value!r} is beyond 100%")
        return [v.strip() for v in values] if values is not None else None

    @field_validator("TimeOffsetSet")
    @classmethod
    def _seconds(cls, values: list[float] | None) -> list[float] | None:
        if values and min(values) < 0:
            raise ValueError("time offsets cannot be negative")
        return values


class SampleSnapshotTaskInput(TaskInput):
    pass


class AnimatedGraphicTaskInput(TaskInput):
    StartTimeOffset: float | None = None
    EndTimeOffset: float | None = None


class ImageSpriteTaskInput(TaskInput):
    WebVttObjectName: str | None = None


class MediaProcessTaskInput(Wire):
    TranscodeTaskSet: list[TranscodeTaskInput] = Field(default_factory=list)
    AnimatedGraphicTaskSet: list[AnimatedGraphicTaskInput] = Field(default_factory=list)
    SnapshotByTimeOffsetTaskSet: list[SnapshotByTimeOffsetTaskInput] = Field(default_factory=list)
    SampleSnapshotTaskSet: list[SampleSnapshotTaskInput] = Field(default_factory=list)
    ImageSpriteTaskSet: list[ImageSpriteTaskInput] = Field(default_factory=list)
    AdaptiveDynamicStreamingTaskSet: list[Any] = Field(default_factory=list)


class AwsSQS(Wire):
    SQSRegion: str = _required()
    SQSQueueName: str = _required()


_AwsSQS = AwsSQS


class TaskNotifyConfig(Wire):
    NotifyType: str = ""  # "" means TDMQ-CMQ to MPS
    NotifyMode: Literal["Finish", "Change"] = "Finish"
    NotifyUrl: str | None = None
    CmqModel: Literal["Queue", "Topic"] | None = None
    CmqRegion: str | None = None
    TopicName: str | None = None
    QueueName: str | None = None
    AwsSQS: _AwsSQS | None = None
    NotifyKey: str | None = None


_TaskNotifyConfig = TaskNotifyConfig


class ProcessMediaRequest(Wire):
    InputInfo: MediaInputInfo
    OutputStorage: TaskOutputStorage | None = None
    OutputDir: str | None = None
    MediaProcessTask: MediaProcessTaskInput | None = None
    TaskNotifyConfig: _TaskNotifyConfig | None = None
    TasksPriority: int = Field(default=0, ge=-10, le=10)
    SessionId: str = Field(default="", max_length=50)
    SessionContext: str = Field(default="", max_length=1000)
    TaskType: Literal["Online", "Offline"] = "Online"  # Offline runs like Online: no idle-time pool here
    # Other task kinds MPS accepts; none is done here.
    ScheduleId: int | None = None
    Activities: list[Any] | None = None
    AiContentReviewTask: Any = None
    AiAnalysisTask: Any = None
    AiRecognitionTask: Any = None
    AiQualityControlTask: Any = None
    SmartSubtitlesTask: Any = None
    SmartEraseTask: Any = None
    AIDubbingTask: Any = None

    @field_validator("OutputDir")
    @classmethod
    def _slashes(cls, value: str | None) -> str | None:
        if value is not None and not (value.startswith("/") and value.endswith("/")):
            raise ValueError(f"{value!r} must start and end with '/'")
        return value


# ------------------------------------------------------------------ presets
class Preset(NamedTuple):
    operation: dict[str, Any]  # TemplateId or inline parameters, without Output
    ext: str  # the output format (an animated result reports it as its Container)
    facts: dict[str, Any]  # what the subtask's result Output reports about the preset


def _transcode_preset(template_id: str) -> Preset:
    return Preset({"TemplateId": template_id}, OFFICIAL[template_id][2]["Container"]["Format"], {})


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
        10: Preset({"Snapshot": {"Mode": "Interval", "Format": "jpg"}}, "jpg", {}),
    },
    "SampleSnapshot": {
        # one image every 10 % of the duration: ten spread evenly from the start
        10: Preset({"Snapshot": {"Mode": "Average", "Start": "0", "Count": "10", "Format": "jpg"}}, "jpg",
                   {"SampleType": "Percent", "Interval": 10}),
    },
    "AnimatedGraphics": {
        # gif 320 px wide (height keeps the aspect ratio), 15 frames taken and played per second
        20000: Preset({"Animation": {"Container": {"Format": "gif"},
                                     "Video": {"Codec": "gif", "Width": "320", "Fps": "15",
                                               "AnimateFramesPerSecond": "15"}}}, "gif", {"Width": 320}),
    },
    "ImageSprites": {
        # a frame every 10 s, on 10x10 sheets of 142x80 cells, and a WebVTT that maps times to cells
        10: Preset({"Snapshot": {"Mode": "Interval", "Start": "0", "TimeInterval": "10", "Format": "jpg",
                                 "SnapshotOutMode": "OnlySprite",
                                 "SpriteSnapshotConfig": {"CellWidth": "142", "CellHeight": "80", "Padding": "0",
                                                          "Margin": "0", "Color": "black",
                                                          "Columns": "10", "Lines": "10"}}},
                   "jpg", {"Width": 142, "Height": 80, "TotalCount": 100}),
    },
}
"""MPS preset Definitions -> what we run, by MediaProcessResultSet Type.

This table is our choice: the reference confirms the preset ids 10 and 20000 only from samples
and marks the 100010-series table unconfirmed (reference §7 "Preset template IDs"). Transcode
presets are the Official CI templates of `templates.OFFICIAL`; the others are inline parameters."""


class SetKind(NamedTuple):
    field: str  # the request's task set
    type: SetType  # MediaProcessResultSet Type
    result_field: str  # where the subtask sits in a MediaProcessResultSet item
    tag: str  # our job Tag
    default_name: str  # MPS's default output name


# In the SDK's order of MediaProcessTaskInput.
SET_KINDS: tuple[SetKind, ...] = (
    SetKind("TranscodeTaskSet", "Transcode", "TranscodeTask", "Transcode",
            "{inputName}_transcode_{definition}.{format}"),
    SetKind("AnimatedGraphicTaskSet", "AnimatedGraphics", "AnimatedGraphicTask", "Animation",
            "{inputName}_animatedGraphic_{definition}.{format}"),
    SetKind("SnapshotByTimeOffsetTaskSet", "SnapshotByTimeOffset", "SnapshotByTimeOffsetTask", "Snapshot",
            "{inputName}_snapshotByTimeOffset_{definition}_{number}.{format}"),
    SetKind("SampleSnapshotTaskSet", "SampleSnapshot", "SampleSnapshotTask", "Snapshot",
            "{inputName}_sampleSnapshot_{definition}_{number}.{format}"),
    SetKind("ImageSpriteTaskSet", "ImageSprites", "ImageSpriteTask", "Snapshot",
            "{inputName}_imageSprite_{definition}_{number}.{format}"),
)
KIND_OF: dict[str, SetKind] = {kind.type: kind for kind in SET_KINDS}
WEBVTT_NAME = "{inputName}_imageSprite_{definition}.{format}"  # MPS's default WebVttObjectName


# ------------------------------------------------------------------ the plan
class Subtask(NamedTuple):
    """One job to create: `templates.build_operation(tag, operation, ...)` builds its Operation."""

    set_type: str
    index: int
    tag: str
    operation: dict[str, Any]
    definition: int


class SubtaskRef(BaseModel):
    """What a job is within its task, kept in `TaskInfo.Subtasks` under the job's id: the result
    set it reports to, its position in the request's task set, its preset, and the task item as
    given (echoed as the result's `Input`)."""

    model_config = ConfigDict(extra="ignore")

    Type: SetType
    Index: int
    Definition: int
    Input: dict[str, Any] = Field(default_factory=dict)
    StorageType: StorageType = "COS"  # how its output storage is reported


class TaskInfo(BaseModel):
    """The `plan_info` of the renderers: what a task was asked for, stored beside its execution.

    Built by `TaskPlan.task_info(task_id, job_ids)` once the jobs have ids. Holds no secret but
    NotifyKey, which signs notifications and is never rendered."""

    model_config = ConfigDict(extra="ignore")

    TaskId: str
    InputInfo: dict[str, Any]
    TasksPriority: int = 0
    SessionId: str = ""
    SessionContext: str = ""
    TaskNotifyConfig: dict[str, Any] | None = None  # as given, without NotifyKey
    NotifyKey: str | None = None
    Subtasks: dict[str, SubtaskRef]  # job id -> subtask

    @property
    def notify_mode(self) -> str:
        return (self.TaskNotifyConfig or {}).get("NotifyMode") or "Finish"


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
    input_info: dict[str, Any]  # InputInfo as given, without secrets
    notify_info: dict[str, Any] | None = None  # TaskNotifyConfig as given, without NotifyKey

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
            Subtasks=dict(zip(job_ids, self.refs)),
        )


def plan_task(request_json: dict[str, Any]) -> TaskPlan:
    """Validate a ProcessMedia request body and plan its subtasks; InvalidInputError naming the field."""
    request = _parse(request_json)
    _refuse_unsupported(request)
    input_type, bucket, key, region, url = _source(request.InputInfo)
    out_type, out_bucket, out_region = _top_storage(request, input_type)
    if request.OutputDir is not None:
        output_dir = request.OutputDir.lstrip("/")
    else:  # MPS: the input's own directory
        output_dir = posixpath.dirname(key) + "/" if key and "/" in key else ""
    tasks = request.MediaProcessTask or MediaProcessTaskInput()
    raw_tasks = request_json.get("MediaProcessTask") or {}
    subtasks: list[Subtask] = []
    refs: list[SubtaskRef] = []
    for kind in SET_KINDS:
        for index, item in enumerate(getattr(tasks, kind.field)):
            where = f"MediaProcessTask.{kind.field}[{index}]"
            preset = DEFINITIONS[kind.type].get(item.Definition)
            if preset is None:
                known = ", ".join(map(str, DEFINITIONS[kind.type]))
                _refuse(f"{where}.Definition", f"unknown preset {item.Definition}; expected one of {known}")
            storage = _task_storage(item.OutputStorage, (out_type, out_bucket, out_region), f"{where}.OutputStorage")
            operation = _operation(kind, item, preset, where, storage, output_dir)
            # The queue orders by the execution's priority (TasksPriority as given); JobLevel on the
            # job record only has CI's 0..2, so it carries the priority clipped to that range.
            operation["JobLevel"] = max(0, min(2, request.TasksPriority))
            subtasks.append(Subtask(kind.type, index, kind.tag, operation, item.Definition))
            refs.append(SubtaskRef(Type=kind.type, Index=index, Definition=item.Definition, StorageType=storage[0],
                                   Input=_public(raw_tasks[kind.field][index])))
    if not subtasks:
        _refuse("MediaProcessTask", "at least one task is required", code="MissingParameter")
    if len(subtasks) > MAX_SUBTASKS:
        _refuse("MediaProcessTask", f"{len(subtasks)} subtasks; at most {MAX_SUBTASKS} are allowed")
    notify, notify_type = _notify(request.TaskNotifyConfig)
    config = request.TaskNotifyConfig
    return TaskPlan(
        input_type=input_type, bucket=bucket, key=key, region=region, url=url,
        output_type=out_type, output_bucket=out_bucket, output_region=out_region, output_dir=output_dir,
        subtasks=subtasks, refs=refs, priority=request.TasksPriority,
        notify=notify, notify_type=notify_type,
        notify_mode=config.NotifyMode if config else "Finish", notify_key=config.NotifyKey if config else None,
        session_id=request.SessionId, session_context=request.SessionContext,
        input_info=_public(request_json["InputInfo"]),
        notify_info=_public(request_json["TaskNotifyConfig"]) if config else None,
    )


# ------------------------------------------------------------------ planning helpers
def _refuse(where: str, message: str, code: str = "InvalidParameterValue") -> NoReturn:
    raise InvalidInputError(f"{where}: {message}", code=code)


def _parse(request_json: Any) -> ProcessMediaRequest:
    if not isinstance(request_json, dict):
        raise InvalidInputError("the request body must be a JSON object", code="InvalidParameter")
    try:
        return ProcessMediaRequest.model_validate(request_json)
    except ValidationError as error:
        first = error.errors()[0]
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in first["loc"]).lstrip(".")
        message = first["msg"].removeprefix("Value error, ")
        # Tencent Cloud API 3.0 common codes: missing, wrong type, wrong value.
        kind = first["type"]
        code = ("MissingParameter" if kind == "missing"
                else "InvalidParameter" if kind.endswith(("_type", "_parsing")) else "InvalidParameterValue")
        raise InvalidInputError(f"{where or 'request'}: {message}", code=code) from None


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
                if getattr(item, name, None):
                    _refuse(f"MediaProcessTask.{kind.field}[{index}].{name}", "not supported by this service")


def _source(info: MediaInputInfo) -> tuple[Any, str | None, str | None, str | None, str | None]:
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
        if interval:
            # build_operation takes a TemplateId's parameters whole, so a cut spells them out.
            params = copy.deepcopy(OFFICIAL[operation.pop("TemplateId")][2])
            operation["Transcode"] = params | {"TimeInterval": interval}
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


def _notify(config: TaskNotifyConfig | None) -> tuple[NotifyConfig | None, str | None]:
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


_SECRETS = ("S3SecretId", "S3SecretKey", "NotifyKey")


def _public(value: Any) -> Any:
    """A request part as given, for storing and echoing: nulls and secrets left out (we read and
    write with our own role; the NotifyKey is kept apart, for signing only)."""
    if isinstance(value, dict):
        return {k: _public(v) for k, v in value.items() if v is not None and k not in _SECRETS}
    if isinstance(value, list):
        return [_public(v) for v in value]
    return value


# ------------------------------------------------------------------ task ids
def task_id(hex_digits: str | None = None) -> str:
    """A TaskId in MPS's shape (`<owner>-WorkflowTask-<hex>t0`): 57 characters of [A-Za-z0-9-],
    so that it can also name the task's Step Functions execution."""
    hex_digits = hex_digits or uuid.uuid4().hex
    if not re.fullmatch(r"[0-9a-f]{32}", hex_digits):
        raise ValueError("a task id takes 32 lowercase hex digits")
    return f"mediaflow-WorkflowTask-{hex_digits}t0"


def is_task_id(value: Any) -> bool:
    return isinstance(value, str) and bool(TASK_ID.match(value))


# ------------------------------------------------------------------ rendering
def mps_time(value: datetime | None) -> str:
    """ISO 8601 in UTC as MPS writes it; an unset time is 0000-00-00T00:00:00Z."""
    if value is None:
        return UNSET_TIME
    if value.tzinfo is None:  # stored times are UTC
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def task_status(execution: Execution) -> Literal["WAITING", "PROCESSING", "FINISH"]:
    if execution.state in FINAL_STATES:
        return "FINISH"
    return "PROCESSING" if execution.state == "Running" else "WAITING"


# Legacy numeric ErrCode, after VOD's scheme (40000 bad input, 60000 source file, 70000 internal):
# our choice, the SDK documents no table. ErrCodeExt carries our own code.
_ERR_CODES = {"InvalidArgument": 40000, "InvalidParameterValue": 40000, "ResourceDownloadFailed": 60000,
              "InvalidMedia": 60000}
_SOURCE_CODES = ("ResourceDownloadFailed", "InvalidMedia")


def _err_code(code: str) -> int:
    return _ERR_CODES.get(code, 70000)


PlanInfo = TaskInfo | Mapping[str, Any]  # a TaskInfo, or one as stored (its model_dump)


def _info(plan_info: PlanInfo) -> TaskInfo:
    return plan_info if isinstance(plan_info, TaskInfo) else TaskInfo.model_validate(plan_info)


def workflow_task(execution: Execution, jobs: Sequence[Job], plan_info: PlanInfo) -> dict[str, Any]:
    """The WorkflowTask structure: DescribeTaskDetail's and the notification's."""
    info = _info(plan_info)
    order = {kind.type: position for position, kind in enumerate(SET_KINDS)}
    known = sorted((j for j in jobs if j.JobId in info.Subtasks),
                   key=lambda j: (order[info.Subtasks[j.JobId].Type], info.Subtasks[j.JobId].Index))
    code, message = 0, ""
    # A source that could not be read fails every subtask alike: MPS reports that on the task.
    failed = {j.Code for j in known if j.State == "Failed"}
    if execution.state == "Failed" and len(failed) == 1 and all(j.State == "Failed" for j in known):
        only = failed.pop()
        if only in _SOURCE_CODES:
            code, message = _err_code(only), known[0].Message
    return {
        "TaskId": info.TaskId,
        "Status": "FINISH" if execution.state in FINAL_STATES else "PROCESSING",
        "ErrCode": code,
        "Message": message,
        "InputInfo": info.InputInfo,
        "MediaProcessResultSet": [_result(job, info.Subtasks[job.JobId]) for job in known],
    }


def describe_task_detail(execution: Execution, jobs: Sequence[Job], plan_info: PlanInfo) -> dict[str, Any]:
    """The DescribeTaskDetail `Response` fields, without RequestId."""
    info = _info(plan_info)
    detail = {
        "TaskType": "WorkflowTask",
        "Status": task_status(execution),
        "CreateTime": mps_time(execution.created),
        "BeginProcessTime": mps_time(execution.started),
        "FinishTime": mps_time(execution.ended),
        "WorkflowTask": workflow_task(execution, jobs, info),
        "TaskNotifyConfig": info.TaskNotifyConfig,
        "TasksPriority": info.TasksPriority,
        "SessionId": info.SessionId,
        "SessionContext": info.SessionContext,
    }
    return {k: v for k, v in detail.items() if v is not None}


def task_summary(execution: Execution, jobs: Sequence[Job], plan_info: PlanInfo) -> dict[str, Any]:
    """A DescribeTasks `TaskSet` item (TaskSimpleInfo)."""
    info = _info(plan_info)
    kinds = {info.Subtasks[j.JobId].Type for j in jobs if j.JobId in info.Subtasks}
    return {
        "TaskId": info.TaskId,
        "TaskType": "WorkflowTask",
        "CreateTime": mps_time(execution.created),
        "BeginProcessTime": mps_time(execution.started),
        "FinishTime": mps_time(execution.ended),
        "SubTaskTypes": [kind.type for kind in SET_KINDS if kind.type in kinds],
    }


def task_event(execution: Execution, jobs: Sequence[Job], plan_info: PlanInfo, *,
               now: datetime | None = None) -> dict[str, Any]:
    """The notification body (ParseNotification's shape). Timestamp is when it expires; Sign is
    MD5(Timestamp + NotifyKey), "" without a key."""
    info = _info(plan_info)
    expires = int(((now or datetime.now(timezone.utc)) + NOTIFY_TTL).timestamp())
    sign = hashlib.md5(f"{expires}{info.NotifyKey}".encode()).hexdigest() if info.NotifyKey else ""
    return {
        "EventType": "WorkflowTask",
        "WorkflowTaskEvent": workflow_task(execution, jobs, info),
        "SessionId": info.SessionId,
        "SessionContext": info.SessionContext,
        "Timestamp": expires,
        "Sign": sign,
    }


def _result(job: Job, ref: SubtaskRef) -> dict[str, Any]:
    """One MediaProcessResultSet item."""
    failed = job.State in ("Failed", "Cancel")
    code = (job.Code if job.Code != "Success" else "Cancelled") if failed else ""
    task: dict[str, Any] = {
        "Status": "SUCCESS" if job.State == "Success" else "FAIL" if failed else "PROCESSING",
        "ErrCodeExt": code,
        "ErrCode": _err_code(code) if failed else 0,
        "Message": job.Message if failed else "",
        "Input": ref.Input,
    }
    if job.State == "Success" and job.Operation.MediaResult:
        task["Output"] = _OUTPUTS[ref.Type](_Files.of(job), job, ref)
    if ref.Type == "Transcode":  # the SDK's transcode result has a Progress and no times
        task["Progress"] = job.Progress
    else:
        task["BeginProcessTime"] = mps_time(job.StartTime)
        task["FinishTime"] = mps_time(job.EndTime)
    return {"Type": ref.Type, KIND_OF[ref.Type].result_field: task}


class _Files(NamedTuple):
    """The objects a job wrote, from its MediaResult.OutputFile."""

    bucket: str | None
    region: str | None
    keys: list[str]
    md5: dict[str, str]

    @classmethod
    def of(cls, job: Job) -> _Files:
        output = (job.Operation.MediaResult or {}).get("OutputFile") or {}
        prefix = output.get("ObjectPrefix") or ""
        # ObjectName holds whole keys today; a prefix, if ever set, is a folder for bare names.
        keys = [n if not prefix or n.startswith(prefix) else prefix + n for n in output.get("ObjectName") or []]
        md5 = {item.get("ObjectName", ""): item.get("Md5", "") for item in output.get("Md5Info") or []}
        return cls(output.get("Bucket") or job.Operation.Output.Bucket,
                   output.get("Region") or job.Operation.Output.Region, keys, md5)

    def storage(self, kind: str) -> dict[str, Any]:
        if kind == "AWS-S3":
            inner = {"S3Bucket": self.bucket, "S3Region": self.region}
            return {"Type": kind, "S3OutputStorage": {k: v for k, v in inner.items() if v}}
        inner = {"Bucket": self.bucket, "Region": self.region}
        return {"Type": kind, "CosOutputStorage": {k: v for k, v in inner.items() if v}}

    def first(self, suffix: str = "") -> str:
        return next((k for k in self.keys if k.lower().endswith(suffix)), "")


def _path(key: str) -> str:
    return "/" + key if key else ""


def _int(value: Any) -> int:
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return 0


def _float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def _media(job: Job) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    """(Format, video streams, audio streams) of the job's MediaInfo (media.probe's shape)."""
    info = job.Operation.MediaInfo or {}
    stream = info.get("Stream") or {}
    return info.get("Format") or {}, stream.get("Video") or [], stream.get("Audio") or []


def _bps(kbps: Any) -> int:
    return round(_float(kbps) * 1000)  # MediaInfo bitrates are kbps; MPS reports bps


def _transcode_output(files: _Files, job: Job, ref: SubtaskRef) -> dict[str, Any]:
    fmt, videos, audios = _media(job)
    key = files.first()
    return {
        "OutputStorage": files.storage(ref.StorageType),
        "Path": _path(key),
        "Definition": ref.Definition,
        "Bitrate": _bps(fmt.get("Bitrate")),
        "Height": max((_int(v.get("Height")) for v in videos), default=0),
        "Width": max((_int(v.get("Width")) for v in videos), default=0),
        "Size": _int(fmt.get("Size")),
        "Duration": _float(fmt.get("Duration")),
        "Container": fmt.get("FormatName", ""),
        "Md5": files.md5.get(key, ""),
        "VideoStreamSet": [{"Bitrate": _bps(v.get("Bitrate")), "Height": _int(v.get("Height")),
                            "Width": _int(v.get("Width")), "Codec": v.get("CodecName", ""),
                            "Fps": round(_float(v.get("Fps")))} for v in videos],
        "AudioStreamSet": [{"Bitrate": _bps(a.get("Bitrate")), "SamplingRate": _int(a.get("SampleRate")),
                            "Codec": a.get("CodecName", ""), "Channel": _int(a.get("Channel"))} for a in audios],
    }


def _animated_output(files: _Files, job: Job, ref: SubtaskRef) -> dict[str, Any]:
    fmt, videos, _ = _media(job)
    key = files.first()
    video = videos[0] if videos else {}
    start = _float(ref.Input.get("StartTimeOffset"))
    end = _float(ref.Input.get("EndTimeOffset")) or start + _float(fmt.get("Duration"))
    preset = DEFINITIONS["AnimatedGraphics"].get(ref.Definition)
    return {
        "Storage": files.storage(ref.StorageType),
        "Path": _path(key),
        "Definition": ref.Definition,
        "Container": preset.ext if preset else posixpath.splitext(key)[1].lstrip("."),
        "Height": _int(video.get("Height")),
        "Width": _int(video.get("Width")) or (preset.facts.get("Width", 0) if preset else 0),
        "Bitrate": _bps(fmt.get("Bitrate")),
        "Size": _int(fmt.get("Size")),
        "Md5": files.md5.get(key, ""),
        "StartTimeOffset": start,
        "EndTimeOffset": end,
    }


def _time_offset_output(files: _Files, job: Job, ref: SubtaskRef) -> dict[str, Any]:
    """The unit writes one image per time point, in time order; a percentage needs the duration
    to be placed (without it, the points are paired in the order given and have no TimeOffset)."""
    duration = _float(_media(job)[0].get("Duration"))
    points = ref.Input.get("ExtTimeOffsetSet") or [f"{t}s" for t in ref.Input.get("TimeOffsetSet") or []]
    times = [_seconds(str(point), duration) for point in points]
    if None not in times:
        times.sort()
    pictures = []
    for position, key in enumerate(files.keys):
        picture: dict[str, Any] = {"Path": _path(key)}
        if position < len(times) and times[position] is not None:
            picture["TimeOffset"] = times[position]
        pictures.append(picture)
    return {"Definition": ref.Definition, "PicInfoSet": pictures, "Storage": files.storage(ref.StorageType)}


def _seconds(point: str, duration: float) -> float | None:
    """'3.5s' -> 3.5; '10%' -> a tenth of the duration (None when the duration is not known)."""
    match = TIME_OFFSET.match(point.strip())
    if not match:
        return None
    value = float(match["value"])
    if match["unit"] == "s":
        return value
    return round(duration * value / 100, 3) if duration else None


def _sample_output(files: _Files, job: Job, ref: SubtaskRef) -> dict[str, Any]:
    facts = DEFINITIONS["SampleSnapshot"].get(ref.Definition, Preset({}, "", {})).facts
    return {
        "Definition": ref.Definition,
        "SampleType": facts.get("SampleType", "Percent"),
        "Interval": facts.get("Interval", 0),
        "Storage": files.storage(ref.StorageType),
        "ImagePathSet": [_path(k) for k in files.keys],
    }


def _sprite_output(files: _Files, job: Job, ref: SubtaskRef) -> dict[str, Any]:
    """The sheets are the images the job wrote; the WebVTT is its .vtt object."""
    facts = DEFINITIONS["ImageSprites"].get(ref.Definition, Preset({}, "", {})).facts
    return {
        "Definition": ref.Definition,
        "Height": facts.get("Height", 0),
        "Width": facts.get("Width", 0),
        "TotalCount": facts.get("TotalCount", 0),
        "ImagePathSet": [_path(k) for k in files.keys if not k.lower().endswith(".vtt")],
        "WebVttPath": _path(files.first(".vtt")),
        "Storage": files.storage(ref.StorageType),
    }


_OUTPUTS = {
    "Transcode": _transcode_output,
    "AnimatedGraphics": _animated_output,
    "SnapshotByTimeOffset": _time_offset_output,
    "SampleSnapshot": _sample_output,
    "ImageSprites": _sprite_output,
}
