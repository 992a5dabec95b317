"""EditMedia: clips of one or more files of a bucket, joined into one output, as an MPS task.

One file is a transcode of its clip; several are a join (our Concat) whose first part is the task's
input and whose other parts are fragments of the same bucket, each cut to its clip. The task is
queued like ProcessMedia's (`tasks.queue_task`) and rendered as an `EditMediaTask`."""

from __future__ import annotations

import posixpath
from typing import Any

from ...exceptions import InvalidInputError
from ...shapes.mps import SubtaskRef
from .plan import Subtask, TaskPlan, notify_rule, object_key, source_of
from .wire import EditMediaOutputConfig, EditMediaRequest, parse

DEFAULT_NAME = "{inputName}_edit"


def _clip(start: float | None, end: float | None, where: str) -> tuple[float | None, float | None]:
    if end is not None and end <= (start or 0):
        raise InvalidInputError(f"{where}.EndTimeOffset: must be after StartTimeOffset", code="InvalidParameterValue")
    return start or None, end


def plan_edit(body: dict[str, Any]) -> TaskPlan:
    """Validate an EditMedia request and plan its one job; InvalidInputError naming the field."""
    request = parse(EditMediaRequest, body)
    if request.ComposeConfig:
        raise InvalidInputError("ComposeConfig: not supported by this service", code="InvalidParameterValue")
    files = []
    for index, info in enumerate(request.FileInfos):
        kind, bucket, key, region, _ = source_of(info.InputInfo)
        if kind == "URL":
            raise InvalidInputError(f"FileInfos[{index}].InputInfo: a COS or AWS-S3 object is required",
                                    code="InvalidParameterValue")
        files.append((kind, bucket, key, region, *_clip(info.StartTimeOffset, info.EndTimeOffset, f"FileInfos[{index}]")))
    kind, bucket, key, region, start, end = files[0]
    if any(other[1] != bucket for other in files[1:]):
        raise InvalidInputError(f"FileInfos: every file must be in the first one's bucket {bucket}",
                                code="InvalidParameterValue")
    storage = request.OutputStorage
    out = storage.CosOutputStorage if storage.Type == "COS" else storage.S3OutputStorage
    out_bucket = (getattr(out, "Bucket", None) or getattr(out, "S3Bucket", None)) if out else None
    out_region = (getattr(out, "Region", None) or getattr(out, "S3Region", None)) if out else None
    if not out_bucket:
        raise InvalidInputError("OutputStorage: a bucket is required", code="MissingParameter")
    container = (request.OutputConfig or EditMediaOutputConfig()).Container
    name = object_key(request.OutputObjectPath, DEFAULT_NAME, output_dir="", definition=0)
    if not posixpath.splitext(name)[1]:
        name += ".${ext}"
    encoding = {"Container": {"Format": container}, "Video": {"Codec": "H.264"}, "Audio": {"Codec": "aac"}}
    if len(files) == 1:
        interval = {k: v for k, v in (("Start", start), ("Duration", end - (start or 0) if end else None)) if v}
        tag, operation = "Transcode", {"Transcode": {**encoding, **({"TimeInterval": interval} if interval else {})}}
    else:
        fragments = [{"Url": other_key, "Mode": "End",
                      **{k: v for k, v in (("StartTime", other_start), ("EndTime", other_end)) if v is not None}}
                     for _, _, other_key, _, other_start, other_end in files[1:]]
        tag, operation = "Concat", {"ConcatTemplate": {"ConcatFragment": fragments, **encoding,
                                                       **({"InputStartTime": start} if start else {}),
                                                       **({"InputEndTime": end} if end else {})}}
    operation["Output"] = {k: v for k, v in (("Bucket", out_bucket), ("Region", out_region), ("Object", name)) if v}
    notify, notify_type = notify_rule(request.TaskNotifyConfig)
    config = request.TaskNotifyConfig
    return TaskPlan(
        input_type=kind, bucket=bucket, key=key, region=region, output_type=storage.Type, output_bucket=out_bucket,
        output_region=out_region, subtasks=[Subtask("Transcode", 0, tag, operation, 0)],
        refs=[SubtaskRef(Type="Transcode", Index=0, Definition=0, StorageType=storage.Type)],
        priority=request.TasksPriority, notify=notify, notify_type=notify_type,
        notify_mode=config.NotifyMode if config else "Finish", notify_key=config.NotifyKey if config else None,
        session_id=request.SessionId, session_context=request.SessionContext,
        input_info=request.FileInfos[0].InputInfo.given(),
        notify_info=config.given(exclude={"NotifyKey"}) if config else None,
        task_type="EditMediaTask", file_infos=[info.given() for info in request.FileInfos],
    )
