"""Every MPS task type as the API and its notifications show it: ProcessMedia's and workflows' tasks are
`WorkflowTask`s (`shapes.mps`), EditMedia's an `EditMediaTask`, a schedule's run a `ScheduleTask`, made
here from the same records."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..models import Execution, Job
from . import mps


def _edit_media_task(execution: Execution, jobs: Sequence[Job], info: mps.TaskInfo) -> dict[str, Any]:
    """EditMediaTask: the WorkflowTask of its one job, in EditMedia's shape."""
    workflow = mps.workflow_task(execution, jobs, info)
    result = next(iter(workflow["MediaProcessResultSet"]), {}).get("TranscodeTask", {})
    output = result.get("Output") or {}
    failed = result.get("Status") == "FAIL"
    return {
        "TaskId": info.TaskId,
        "Status": mps.task_status(execution),
        "ErrCode": result.get("ErrCode", 0) if failed else workflow["ErrCode"],
        "Message": result.get("Message", "") if failed else workflow["Message"],
        "Input": {"FileInfoSet": info.FileInfos or []},
        "Output": {"OutputStorage": output.get("OutputStorage"), "Path": output.get("Path", ""),
                   "MetaData": {k: output[k] for k in ("Size", "Duration", "Bitrate", "Height", "Width", "Container",
                                                       "VideoStreamSet", "AudioStreamSet") if k in output}},
    }


ACTIVITY_TYPES = {"Transcode": "action-trans", "AnimatedGraphics": "action-animated-graphics",
                  "SnapshotByTimeOffset": "action-snapshotByTimeOffset", "SampleSnapshot": "action-samplesnapshot",
                  "ImageSprites": "action-image-sprite"}


def _schedule_task(execution: Execution, jobs: Sequence[Job], info: mps.TaskInfo) -> dict[str, Any]:
    """ScheduleTask: the WorkflowTask of its jobs, each result an activity's."""
    workflow = mps.workflow_task(execution, jobs, info)
    activities = [{"ActivityType": ACTIVITY_TYPES[result["Type"]],
                   "ActivityResItem": {field: value for field, value in result.items() if field != "Type"}}
                  for result in workflow["MediaProcessResultSet"]]
    return {"TaskId": info.TaskId, "Status": mps.task_status(execution), "ErrCode": workflow["ErrCode"],
            "Message": workflow["Message"], "InputInfo": info.InputInfo, "ActivityResultSet": activities}


# The task types other than WorkflowTask, and how each is shown (its Describe field; its event's is <type>Event).
SHAPES = {"EditMediaTask": _edit_media_task, "ScheduleTask": _schedule_task}


def task_detail(execution: Execution, jobs: Sequence[Job], plan_info: mps.PlanInfo) -> dict[str, Any]:
    """The DescribeTaskDetail `Response` fields, without RequestId."""
    info = mps.task_info(plan_info)
    detail = mps.describe_task_detail(execution, jobs, info)
    if info.TaskType in SHAPES:
        del detail["WorkflowTask"]
        detail |= {"TaskType": info.TaskType, info.TaskType: SHAPES[info.TaskType](execution, jobs, info)}
    return detail


def task_summary(execution: Execution, jobs: Sequence[Job], plan_info: mps.PlanInfo) -> dict[str, Any]:
    """A DescribeTasks `TaskSet` item."""
    info = mps.task_info(plan_info)
    summary = mps.task_summary(execution, jobs, info)
    if info.TaskType != "WorkflowTask":
        summary |= {"TaskType": info.TaskType, "SubTaskTypes": [] if info.TaskType == "EditMediaTask" else
                    summary["SubTaskTypes"]}
    return summary


def task_event(execution: Execution, jobs: Sequence[Job], plan_info: mps.PlanInfo) -> dict[str, Any]:
    """The notification body (ParseNotification's shape)."""
    info = mps.task_info(plan_info)
    event = mps.task_event(execution, jobs, info)
    if info.TaskType in SHAPES:
        del event["WorkflowTaskEvent"]
        event |= {"EventType": info.TaskType, f"{info.TaskType}Event": SHAPES[info.TaskType](execution, jobs, info)}
    return event
