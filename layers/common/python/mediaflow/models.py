"""Pydantic models for everything that crosses a boundary: stored records and unit payloads.

Field names follow Tencent's XML (PascalCase) where the record is rendered back to clients,
so rendering is a dump, not a translation. Internal fields are snake_case.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .media.params import AnimationParams, ConcatParams, SegmentParams, SnapshotParams, TranscodeParams
from .media.watermark import WatermarkParams
from .docs.params import DocParams
from .speech.params import SpeechParams

JobState = Literal["Submitted", "Running", "Success", "Failed", "Pause", "Cancel"]
Feature = Literal["media", "speech", "doc"]  # the feature queues of a bucket
FINAL_STATES = ("Success", "Failed", "Cancel")
# Bounds on the free-form strings a request may set, so that a record stays small whatever is sent.
MAX_KEY = 1024  # an object key or key template (S3 keys are at most 1024 bytes)
MAX_URL = 2048  # a callback or object URL
MAX_NAME = 256  # a queue or topic name, ARN or URL (SQS names are at most 80 characters, SNS 256)
MAX_REGION = 64


class Model(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


def _blank_to_none(value: Any) -> Any:
    return None if value == "" else value


# ------------------------------------------------------------------ notification rules
class MqConfig(Model):
    MqMode: Literal["Queue", "Topic"] = "Queue"
    MqRegion: str | None = Field(None, max_length=MAX_REGION)
    MqName: str | None = Field(None, max_length=MAX_NAME)


class NotifyConfig(Model):
    """Queue / workflow Start node / job-level callback rule."""

    State: Literal["On", "Off"] = "On"
    Type: Literal["Url", "TDMQ"] = "Url"
    Url: str | None = Field(None, max_length=MAX_URL)
    Event: str = Field("TaskFinish,WorkflowFinish", max_length=256)
    ResultFormat: Literal["XML", "JSON"] = "XML"
    MqMode: str | None = Field(None, max_length=16)
    MqRegion: str | None = Field(None, max_length=MAX_REGION)
    MqName: str | None = Field(None, max_length=MAX_NAME)

    _blank = field_validator("Url", "MqMode", "MqRegion", "MqName", mode="before")(_blank_to_none)

    def wants(self, event: str) -> bool:
        return self.State == "On" and event in {e.strip() for e in self.Event.split(",")}


# ------------------------------------------------------------------ jobs
class CosHeader(Model):
    Key: str
    Value: str


class JobInput(Model):
    BucketId: str
    Object: str
    Region: str
    CosHeaders: list[CosHeader] = Field(default_factory=list)


class OutputSpec(Model):
    Region: str | None = Field(None, max_length=MAX_REGION)
    Bucket: str | None = Field(None, max_length=63)
    Object: str = Field("", max_length=MAX_KEY)  # required by every Tag that writes files (not MediaInfo)
    SpriteObject: str | None = Field(None, max_length=MAX_KEY)

    _blank = field_validator("Region", "Bucket", "SpriteObject", mode="before")(_blank_to_none)


class OutputFile(Model):
    Bucket: str
    Region: str
    ObjectPrefix: str = ""
    ObjectName: list[str] = Field(default_factory=list)
    Md5Info: list[dict[str, str]] = Field(default_factory=list)


class Operation(Model):
    """One operation of a job: what to do (template or inline parameters) and where to write it."""

    TemplateId: str | None = None
    TemplateName: str | None = None
    Transcode: TranscodeParams | None = None
    Snapshot: SnapshotParams | None = None
    Animation: AnimationParams | None = None
    Segment: SegmentParams | None = None
    ConcatTemplate: ConcatParams | None = None
    Watermark: list[WatermarkParams] = Field(default_factory=list)  # on a Transcode, at most 3
    WatermarkTemplateId: list[str] = Field(default_factory=list)
    SpeechRecognition: SpeechParams | None = None
    DocProcess: DocParams | None = None
    Output: OutputSpec
    UserData: str | None = Field(None, max_length=1024, pattern=r"^[\x20-\x7e]*$")
    JobLevel: int = Field(0, ge=0, le=2)
    MediaInfo: dict[str, Any] | None = None
    MediaResult: dict[str, Any] | None = None
    SpeechRecognitionResult: dict[str, Any] | None = None
    DocProcessResult: dict[str, Any] | None = None


class WorkflowRef(Model):
    RunId: str
    WorkflowId: str
    WorkflowName: str
    Name: str


class Job(Model):
    JobId: str
    Tag: str
    State: JobState = "Submitted"
    Code: str = "Success"
    Message: str = ""
    Progress: int = 0
    CreationTime: datetime
    StartTime: datetime | None = None
    EndTime: datetime | None = None
    QueueId: str
    Input: JobInput
    Operation: Operation
    Workflow: WorkflowRef | None = None
    # internal
    execution_id: str
    notify: NotifyConfig | None = None
    stage: int = 0  # a workflow node runs after the nodes of lower stages
    after: str | None = None  # the job whose output is this job's input (a node's predecessor)


# ------------------------------------------------------------------ executions (what a queue orders)
class Execution(Model):
    """A unit of queueing and of orchestration: a workflow run (i...) or a standalone job (j...).

    One Step Functions execution, named after `id`, runs all of its jobs."""

    id: str
    queue_id: str
    feature: Feature = "media"  # which SQS queue carries its queue's tickets
    bucket: str
    priority: int = 0
    seq: int = 0
    state: JobState = "Submitted"
    job_ids: list[str]
    created: datetime
    started: datetime | None = None
    start_seq: int | None = None  # the queue's start counter when this execution was claimed
    ended: datetime | None = None
    workflow_id: str | None = None
    workflow_name: str | None = None
    object: str | None = None
    notify: NotifyConfig | None = None
    units_total: int = 0
    stage_units: dict[int, int] = Field(default_factory=dict)
    notified: bool = False  # the outcome's notifications are queued (set after they are)
    stages: int = 1
    task: dict[str, Any] | None = None  # ProcessMedia tasks: what DescribeTaskDetail needs besides the jobs


# ------------------------------------------------------------------ queues
_NotifyConfig, _Feature = NotifyConfig, Feature  # fields below share the types' names


class Queue(Model):
    QueueId: str
    Name: str
    BucketId: str
    Feature: _Feature
    State: Literal["Active", "Paused"] = "Active"
    MaxSize: int = 10000
    MaxConcurrent: int = 10
    Category: str = "Transcoding"
    CreateTime: datetime
    UpdateTime: datetime
    NotifyConfig: _NotifyConfig = Field(default_factory=lambda: _NotifyConfig(State="Off"))
    # Cost guardrails: a job over one of them is refused before any encode starts (0: no limit).
    # bytes. 4.5 GiB: Plan and Unit have 10 GiB of /tmp (EphemeralStorage), and Plan holds an input
    # and its cut pieces, about twice the input, Unit an input and its output; a larger input would
    # pass this guard and then fail with "No space left on device".
    MaxInputSize: int = Field(default=4608 * 1024**2, ge=0)
    MaxInputDuration: float = Field(default=6 * 3600, ge=0)  # seconds
    MaxOutputsPerJob: int = Field(default=10000, ge=0)


# ------------------------------------------------------------------ task units (Step Functions payloads)
class ObjectRef(Model):
    bucket: str
    key: str


class UnitSpec(Model):
    """One task unit, small enough to travel between states: keys, never data."""

    execution_id: str
    job_id: str
    kind: Literal["transcode", "snapshot", "animation", "segment", "concat", "mediainfo", "piece", "audio", "join",
                  "speech", "speech_join", "doc"]
    index: int = 0
    input: ObjectRef
    parts: list[ObjectRef] = Field(default_factory=list)  # concat: every input in order; join: the pieces
    watermarks: list[dict[str, Any]] = Field(default_factory=list)  # a transcode's, as WatermarkParams dump them
    images: list[ObjectRef | None] = Field(default_factory=list)  # per watermark: its image, if it has one
    audio: ObjectRef | None = None  # join: the encoded audio track
    offsets: list[float] = Field(default_factory=list)  # speech join: where each chunk (in `parts`) starts
    pages: list[tuple[int, int]] = Field(default_factory=list)  # doc: (${Number}, page) of each page to render
    sheets: int = 0  # doc: a spreadsheet's sheet count (page n is sheet n), 0 for other documents
    output: ObjectRef  # for snapshots, `key` holds ${Number} for the image index
    sprite_output: ObjectRef | None = None  # sprite sheets of a snapshot unit, `key` with ${Number}
    params: dict[str, Any]
    duration: float
    segment_from: float | None = None  # a piece of a split hls output: where it starts in the output, seconds
    units_of_job: int = 1
    report: bool = False  # tell the owner when this unit ends (a task's NotifyMode Change)


JOIN_KINDS = ("join", "speech_join")  # units that run after the others of their stage, from what those wrote


class OutputObject(Model):
    bucket: str
    key: str
    size: int
    md5: str


class UnitResult(Model):
    job_id: str
    kind: str
    index: int = 0
    ok: bool
    code: str = "Success"
    message: str = ""
    outputs: list[OutputObject] = Field(default_factory=list)
    media_info: dict[str, Any] | None = None
    result: dict[str, Any] | None = None  # a speech join's SpeechRecognitionResult, a doc unit's pages
