"""The MPS face's requests as the Tencent Cloud SDK sends them (`tencentcloud.mps.v20190612.models`):
ProcessMedia's InputInfo, OutputStorage, MediaProcessTask and TaskNotifyConfig, validated field by field."""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeVar
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ...exceptions import InvalidInputError
from ...media.params import MAX_TIME_OFFSETS, TIME_OFFSET
from ...models import MAX_KEY, MAX_URL
from ...shapes.mps import StorageType

# Bounds on what a request may hold (Tencent's where it gives them: SessionId 50, SessionContext
# 1000). Every string is bounded, so that what a task stores stays small whatever is sent.
MAX_TEXT = MAX_KEY  # any string without a bound of its own: names, paths
MAX_INPUT_URL = 4096  # an input URL (presigned URLs run long)
MAX_TIME_POINT = 32  # one of ExtTimeOffsetSet, such as "3.5s" or "10%"


# ------------------------------------------------------------------ request models (SDK shapes)
class Wire(BaseModel):
    """A request structure: unknown fields ignored, and null read as "not given".

    The SDK's `to_json_string()` sends every field it knows, unset ones as null. Unknown fields are
    dropped here and never stored: `given` is what a task keeps of a request part."""

    model_config = ConfigDict(extra="ignore", allow_inf_nan=False, str_max_length=MAX_TEXT)

    @model_validator(mode="before")
    @classmethod
    def _drop_nulls(cls, data: Any) -> Any:
        return {k: v for k, v in data.items() if v is not None} if isinstance(data, dict) else data

    def given(self, *, exclude: set[str] | None = None) -> dict[str, Any]:
        """The fields the request gave (validated, unknown ones left out), as JSON values."""
        return self.model_dump(mode="json", exclude_unset=True, exclude=exclude)


W = TypeVar("W", bound=BaseModel)


def parse(model: type[W], body: Any) -> W:
    """A request body as `model`, or InvalidInputError naming the field with TencentCloud API 3.0's
    common code: missing, wrong type, wrong value."""
    if not isinstance(body, dict):
        raise InvalidInputError("the request body must be a JSON object", code="InvalidParameter")
    try:
        return model.model_validate(body)
    except ValidationError as error:
        first = error.errors()[0]
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in first["loc"]).lstrip(".")
        message = first["msg"].removeprefix("Value error, ")
        kind = first["type"]
        code = ("MissingParameter" if kind == "missing"
                else "InvalidParameter" if kind.endswith(("_type", "_parsing")) else "InvalidParameterValue")
        raise InvalidInputError(f"{where or 'request'}: {message}", code=code) from None


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
    Url: str = Field(min_length=1, max_length=MAX_INPUT_URL)

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


class WatermarkInput(Wire):
    """A watermark template by Definition, on a transcode, over a time range of the output."""

    Definition: int = Field(ge=1)
    TextContent: str | None = Field(default=None, max_length=64)  # a text watermark's text
    StartTimeOffset: float | None = Field(default=None, ge=0)
    EndTimeOffset: float | None = Field(default=None, gt=0)
    RawParameter: Any = None  # refused
    SvgContent: Any = None  # refused


class MosaicInput(Wire):
    """A blurred rectangle over a time range of a transcode's output (media.params.MosaicRegion)."""

    CoordinateOrigin: Literal["TopLeft", "TopRight", "BottomLeft", "BottomRight"] = "TopLeft"
    XPos: str = Field(default="0px", max_length=16)
    YPos: str = Field(default="0px", max_length=16)
    Width: str = Field(default="10%", max_length=16)
    Height: str = Field(default="10%", max_length=16)
    StartTimeOffset: float | None = Field(default=None, ge=0)
    EndTimeOffset: float | None = Field(default=None, gt=0)


class HeadTailParameter(Wire):
    """Intros (HeadSet) and outros (TailSet) joined onto a transcode's output, objects of the input's bucket."""

    HeadSet: list[MediaInputInfo] = Field(default_factory=list, max_length=10)
    TailSet: list[MediaInputInfo] = Field(default_factory=list, max_length=10)


_HeadTailParameter = HeadTailParameter


class TaskInput(Wire):
    Definition: int
    OutputStorage: TaskOutputStorage | None = None
    OutputObjectPath: str | None = None
    # Watermarks by template: on transcodes; refused on the other task kinds (see _refuse_unsupported).
    WatermarkSet: list[WatermarkInput] | None = Field(default=None, max_length=10)


class TranscodeTaskInput(TaskInput):
    StartTimeOffset: float | None = None
    EndTimeOffset: float | None = None
    RawParameter: Any = None
    OverrideParameter: Any = None
    MosaicSet: list[MosaicInput] | None = Field(default=None, max_length=10)
    BlindWatermark: Any = None
    HeadTailParameter: _HeadTailParameter | None = None


class SnapshotByTimeOffsetTaskInput(TaskInput):
    ExtTimeOffsetSet: list[Annotated[str, Field(max_length=MAX_TIME_POINT)]] | None = Field(
        default=None, max_length=MAX_TIME_OFFSETS)
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
    NotifyUrl: str | None = Field(default=None, max_length=MAX_URL)
    CmqModel: Literal["Queue", "Topic"] | None = None
    CmqRegion: str | None = None
    TopicName: str | None = None
    QueueName: str | None = None
    AwsSQS: _AwsSQS | None = None
    NotifyKey: str | None = None


_TaskNotifyConfig = TaskNotifyConfig


def _directory(value: str | None) -> str | None:
    """A directory as MPS writes one: "/" at both ends."""
    if value is not None and not (value.startswith("/") and value.endswith("/")):
        raise ValueError(f"{value!r} must start and end with '/'")
    return value


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

    _dir = field_validator("OutputDir")(_directory)


# ------------------------------------------------------------------ workflows (CreateWorkflow and the calls on one)
Format = Annotated[str, Field(min_length=1, max_length=16, pattern=r"^\.?[A-Za-z0-9]+$")]


class CosFileUploadTrigger(Wire):
    Bucket: str = _required()
    Region: str = _required()
    Dir: str | None = None  # the key prefix uploads must be under, "/" ended
    Formats: list[Format] | None = Field(default=None, max_length=64)  # file extensions; none: every file

    _dir = field_validator("Dir")(_directory)


class AwsS3FileUploadTrigger(Wire):
    """S3SecretId/S3SecretKey are not fields: never read, never stored (the stack's role reads the bucket),
    and AwsSQS is not needed (the bucket's events reach the stack once it is activated)."""

    S3Bucket: str = _required()
    S3Region: str = _required()
    Dir: str | None = None
    Formats: list[Format] | None = Field(default=None, max_length=64)
    AwsSQS: _AwsSQS | None = None

    _dir = field_validator("Dir")(_directory)


_CosFileUploadTrigger, _AwsS3FileUploadTrigger = CosFileUploadTrigger, AwsS3FileUploadTrigger


class WorkflowTrigger(Wire):
    Type: Literal["CosFileUpload", "AWS-S3"]
    CosFileUploadTrigger: _CosFileUploadTrigger | None = None
    AwsS3FileUploadTrigger: _AwsS3FileUploadTrigger | None = None


class CreateWorkflowRequest(Wire):
    WorkflowName: str = Field(min_length=1, max_length=128)
    Trigger: WorkflowTrigger
    OutputStorage: TaskOutputStorage | None = None
    OutputDir: str | None = None
    MediaProcessTask: MediaProcessTaskInput | None = None
    TaskNotifyConfig: _TaskNotifyConfig | None = None
    TaskPriority: int = Field(default=0, ge=-10, le=10)
    # Other task kinds MPS accepts on a workflow; none is done here.
    AiContentReviewTask: Any = None
    AiAnalysisTask: Any = None
    AiRecognitionTask: Any = None

    _dir = field_validator("OutputDir")(_directory)


WorkflowId = Annotated[int, Field(ge=1, lt=10**10)]


class ResetWorkflowRequest(CreateWorkflowRequest):
    WorkflowId: WorkflowId


class WorkflowIdRequest(Wire):
    """EnableWorkflow, DisableWorkflow and DeleteWorkflow."""

    WorkflowId: WorkflowId


class ScheduleIdRequest(Wire):
    """EnableSchedule, DisableSchedule and DeleteSchedule."""

    ScheduleId: WorkflowId  # a schedule is a workflow record: the same numeric ids


class DescribeWorkflowsRequest(Wire):
    WorkflowIds: list[WorkflowId] | None = Field(default=None, max_length=100)
    Status: Literal["Enabled", "Disabled"] | None = None
    Offset: int = Field(default=0, ge=0, le=10**6)
    Limit: int = Field(default=10, ge=1, le=100)


class ParseNotificationRequest(Wire):
    Content: str = Field(min_length=1, max_length=256 * 1024)


# ------------------------------------------------------------------ EditMedia
class EditMediaFileInfo(Wire):
    InputInfo: MediaInputInfo
    StartTimeOffset: float | None = Field(default=None, ge=0)
    EndTimeOffset: float | None = Field(default=None, gt=0)


class EditMediaOutputConfig(Wire):
    Container: Literal["mp4", "mov", "flv", "hls"] = "mp4"
    Type: Literal["normal"] = "normal"  # "fast" (joining without re-encoding) is not done


class EditMediaRequest(Wire):
    FileInfos: list[EditMediaFileInfo] = Field(min_length=1, max_length=10)
    OutputStorage: TaskOutputStorage
    OutputObjectPath: str = Field(min_length=2, pattern=r"^/")
    OutputConfig: EditMediaOutputConfig | None = None
    TaskNotifyConfig: _TaskNotifyConfig | None = None
    TasksPriority: int = Field(default=0, ge=-10, le=10)
    SessionId: str = Field(default="", max_length=50)
    SessionContext: str = Field(default="", max_length=1000)
    ComposeConfig: Any = None  # refused: composition on a timeline is not done
