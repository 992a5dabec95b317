"""The MPS JSON face's shapes (DescribeTaskDetail, DescribeTasks, the WorkflowTask notification): a task's
stored record (TaskInfo) and its jobs in, response bodies out. Field names and types follow the Tencent
Cloud SDK (`tencentcloud.mps.v20190612.models`), so that its clients parse our answers without warnings."""

from __future__ import annotations

import hashlib
import posixpath
import re
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any, Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field

from ..media.params import TIME_OFFSET
from ..models import FINAL_STATES, Execution, Job
from .mps_media import bps, integer, number, parts, stream_sets

SetType = Literal["Transcode", "AnimatedGraphics", "SnapshotByTimeOffset", "SampleSnapshot", "ImageSprites"]
StorageType = Literal["COS", "AWS-S3"]
UNSET_TIME = "0000-00-00T00:00:00Z"
TASKS = "TASKS"  # the gsi2 partition listing every MPS task (ProcessMedia's, MPS workflows' runs)
NOTIFY_TTL = timedelta(minutes=10)  # MPS notifications carry their expiry time, 10 minutes ahead
TASK_ID = re.compile(r"^mediaflow-WorkflowTask-[0-9a-f]{32}t0$")


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

# What a preset's subtask result reports about it (the presets themselves are in faces/mps/plan.py).
PRESET_FACTS: dict[str, dict[int, dict[str, Any]]] = {
    "SampleSnapshot": {10: {"SampleType": "Percent", "Interval": 10}},
    "AnimatedGraphics": {20000: {"Width": 320, "Container": "gif"}},
    "ImageSprites": {10: {"Width": 142, "Height": 80, "TotalCount": 100}},
}


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
    """The `plan_info` of the renderers: what a task was asked for, stored beside its execution, built by
    `TaskPlan.task_info(task_id, job_ids)`. No secret but NotifyKey, which signs and is never rendered."""

    model_config = ConfigDict(extra="ignore")

    TaskId: str
    InputInfo: dict[str, Any]
    TasksPriority: int = 0
    SessionId: str = ""
    SessionContext: str = ""
    TaskNotifyConfig: dict[str, Any] | None = None  # as given, without NotifyKey
    NotifyKey: str | None = None
    Subtasks: dict[str, SubtaskRef]  # job id -> subtask
    TaskType: Literal["WorkflowTask", "EditMediaTask", "ScheduleTask"] = "WorkflowTask"
    FileInfos: list[dict[str, Any]] | None = None  # an EditMediaTask's inputs (shapes/mps_edit.py)
    Refused: str | None = None  # why no subtask could be made (pipeline/upload_schedule.py)

    @property
    def notify_mode(self) -> str:
        return (self.TaskNotifyConfig or {}).get("NotifyMode") or "Finish"


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
    """ISO 8601 in UTC as MPS writes it; an unset time is 0000-00-00T00:00:00Z (stored times are UTC)."""
    if value is None:
        return UNSET_TIME
    return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).astimezone(timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


def task_status(execution: Execution) -> Literal["WAITING", "PROCESSING", "FINISH"]:
    if execution.state in FINAL_STATES:
        return "FINISH"
    return "PROCESSING" if execution.state == "Running" else "WAITING"


# Legacy numeric ErrCode after VOD's scheme (40000 input, 60000 source, 70000 internal; ErrCodeExt: ours).
_ERR_CODES = {"InvalidArgument": 40000, "InvalidParameterValue": 40000, "ResourceDownloadFailed": 60000,
              "InvalidMedia": 60000, "Cancelled": 40000}
_SOURCE_CODES = ("ResourceDownloadFailed", "InvalidMedia")


def _err_code(code: str) -> int:
    return _ERR_CODES.get(code, 70000)


PlanInfo = TaskInfo | Mapping[str, Any]  # a TaskInfo, or one as stored (its model_dump)


def task_info(plan_info: PlanInfo) -> TaskInfo:
    return plan_info if isinstance(plan_info, TaskInfo) else TaskInfo.model_validate(plan_info)


def workflow_task(execution: Execution, jobs: Sequence[Job], plan_info: PlanInfo) -> dict[str, Any]:
    """The WorkflowTask structure: DescribeTaskDetail's and the notification's."""
    info = task_info(plan_info)
    order = {kind.type: position for position, kind in enumerate(SET_KINDS)}
    known = sorted((j for j in jobs if j.JobId in info.Subtasks),
                   key=lambda j: (order[info.Subtasks[j.JobId].Type], info.Subtasks[j.JobId].Index))
    code, message = 0, ""
    # A source that could not be read fails every subtask alike: MPS reports that on the task.
    failed = {j.Code for j in known if j.State == "Failed"}
    if info.Refused:  # failed before any subtask was made
        code, message = _err_code("InvalidParameterValue"), info.Refused
    elif execution.state == "Cancel":  # ManageTask Abort (or a cancel) before it started
        code, message = _err_code("Cancelled"), "the task was aborted before it started"
    elif execution.state == "Failed" and len(failed) == 1 and all(j.State == "Failed" for j in known):
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
    info = task_info(plan_info)
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
    info = task_info(plan_info)
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
    info = task_info(plan_info)
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


def _media(job: Job) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    """(Format, video streams, audio streams) of the job's MediaInfo (media.probe's shape)."""
    return parts(job.Operation.MediaInfo)


def _transcode_output(files: _Files, job: Job, ref: SubtaskRef) -> dict[str, Any]:
    fmt, videos, audios = _media(job)
    key = files.first()
    return {
        "OutputStorage": files.storage(ref.StorageType),
        "Path": _path(key),
        "Definition": ref.Definition,
        "Bitrate": bps(fmt.get("Bitrate")),
        "Height": max((integer(v.get("Height")) for v in videos), default=0),
        "Width": max((integer(v.get("Width")) for v in videos), default=0),
        "Size": integer(fmt.get("Size")),
        "Duration": number(fmt.get("Duration")),
        "Container": fmt.get("FormatName", ""),
        "Md5": files.md5.get(key, ""),
        **stream_sets(videos, audios),
    }


def _animated_output(files: _Files, job: Job, ref: SubtaskRef) -> dict[str, Any]:
    fmt, videos, _ = _media(job)
    key = files.first()
    video = videos[0] if videos else {}
    start = number(ref.Input.get("StartTimeOffset"))
    end = number(ref.Input.get("EndTimeOffset")) or start + number(fmt.get("Duration"))
    facts = PRESET_FACTS["AnimatedGraphics"].get(ref.Definition, {})
    return {
        "Storage": files.storage(ref.StorageType),
        "Path": _path(key),
        "Definition": ref.Definition,
        "Container": facts.get("Container") or posixpath.splitext(key)[1].lstrip("."),
        "Height": integer(video.get("Height")),
        "Width": integer(video.get("Width")) or facts.get("Width", 0),
        "Bitrate": bps(fmt.get("Bitrate")),
        "Size": integer(fmt.get("Size")),
        "Md5": files.md5.get(key, ""),
        "StartTimeOffset": start,
        "EndTimeOffset": end,
    }


def _time_offset_output(files: _Files, job: Job, ref: SubtaskRef) -> dict[str, Any]:
    """The unit writes one image per time point, in time order; a percentage needs the duration
    to be placed (without it, the points are paired in the order given and have no TimeOffset)."""
    duration = number(_media(job)[0].get("Duration"))
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
    facts = PRESET_FACTS["SampleSnapshot"].get(ref.Definition, {})
    return {
        "Definition": ref.Definition,
        "SampleType": facts.get("SampleType", "Percent"),
        "Interval": facts.get("Interval", 0),
        "Storage": files.storage(ref.StorageType),
        "ImagePathSet": [_path(k) for k in files.keys],
    }


def _sprite_output(files: _Files, job: Job, ref: SubtaskRef) -> dict[str, Any]:
    """The sheets are the images the job wrote; the WebVTT is its .vtt object."""
    facts = PRESET_FACTS["ImageSprites"].get(ref.Definition, {})
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
