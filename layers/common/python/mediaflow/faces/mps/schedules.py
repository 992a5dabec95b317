"""MPS schedules (orchestrations, VOD's task flows): Create/Describe/Enable/Disable/Modify/DeleteSchedule,
and ProcessMedia with a ScheduleId.

A schedule is a graph of Activities: one `input`, actions (transcode, snapshots, sprites, animated
images) that each take their predecessor's output, and `output`s, linked by ReardriveIndex. It is
stored and run as an MPS workflow is (`workflows`): the same workflow records (`MpsFlow.Kind`
Schedule), its actions nodes of the same Topology (an action after another takes that one's output, as
a COS workflow's node does), the same dispatcher and state machine. Each run is a `ScheduleTask`,
notified as each activity ends and at the end."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from ... import config
from ...config import setting
from ...control import workflows
from ...control.workflows import MpsFlow, Workflow
from ...exceptions import InvalidInputError
from ...pipeline import dispatch
from ...shapes import mps
from ..keys import UNAUTHORISED, ApiKey, require
from .inputs import stored_object
from .plan import plan_task
from .templates import custom_preset
from .wire import (
    AnimatedGraphicTaskInput,
    ImageSpriteTaskInput,
    ProcessMediaRequest,
    SampleSnapshotTaskInput,
    SnapshotByTimeOffsetTaskInput,
    TaskNotifyConfig,
    TaskOutputStorage,
    TranscodeTaskInput,
    Wire,
    WorkflowTrigger,
    parse,
)
from .workflows import INPUT_DIRECTORY, STATUS, echoed, mine, watch_of

# ActivityType -> (the ActivityPara field, the MediaProcessTask set it is planned as)
ACTIONS = {"action-trans": ("TranscodeTask", "TranscodeTaskSet"),
           "action-animated-graphics": ("AnimatedGraphicTask", "AnimatedGraphicTaskSet"),
           "action-snapshotByTimeOffset": ("SnapshotByTimeOffsetTask", "SnapshotByTimeOffsetTaskSet"),
           "action-samplesnapshot": ("SampleSnapshotTask", "SampleSnapshotTaskSet"),
           "action-image-sprite": ("ImageSpriteTask", "ImageSpriteTaskSet")}


class ActivityPara(Wire):
    TranscodeTask: TranscodeTaskInput | None = None
    AnimatedGraphicTask: AnimatedGraphicTaskInput | None = None
    SnapshotByTimeOffsetTask: SnapshotByTimeOffsetTaskInput | None = None
    SampleSnapshotTask: SampleSnapshotTaskInput | None = None
    ImageSpriteTask: ImageSpriteTaskInput | None = None


_ActivityPara, _TaskNotifyConfig = ActivityPara, TaskNotifyConfig  # fields below share the types' names


class Activity(Wire):
    ActivityType: str = Field(min_length=1, max_length=64)
    ReardriveIndex: list[int] | None = Field(default=None, max_length=50)
    PredriveIndex: list[int] | None = Field(default=None, max_length=50)
    ActivityPara: _ActivityPara | None = None


class CreateScheduleRequest(Wire):
    ScheduleName: str = Field(min_length=1, max_length=128)
    Trigger: WorkflowTrigger
    Activities: list[Activity] = Field(min_length=2, max_length=50)
    OutputStorage: TaskOutputStorage | None = None
    OutputDir: str | None = Field(default=None, pattern=r"^/(.*/)?$")
    TaskNotifyConfig: _TaskNotifyConfig | None = None


ScheduleId = Field(ge=1, lt=10**10)


class ModifyScheduleRequest(Wire):
    """The fields given replace the schedule's; the others stay."""

    ScheduleId: int = ScheduleId
    ScheduleName: str | None = Field(default=None, min_length=1, max_length=128)
    Trigger: WorkflowTrigger | None = None
    Activities: list[Activity] | None = Field(default=None, min_length=2, max_length=50)
    OutputStorage: TaskOutputStorage | None = None
    OutputDir: str | None = Field(default=None, pattern=r"^/(.*/)?$")
    TaskNotifyConfig: _TaskNotifyConfig | None = None


class DescribeSchedulesRequest(Wire):
    ScheduleIds: list[int] | None = Field(default=None, max_length=100)
    TriggerType: Literal["CosFileUpload", "AWS-S3"] | None = None
    Status: Literal["Enabled", "Disabled"] | None = None
    Offset: int = Field(default=0, ge=0, le=10**6)
    Limit: int = Field(default=10, ge=1, le=100)


def _planned(request: CreateScheduleRequest) -> tuple[str, dict[str, Any], MpsFlow]:
    """(bucket, MediaWorkflow element, MpsFlow) of a schedule: its actions as Topology nodes."""
    activities, where = request.Activities, "Activities"
    if activities[0].ActivityType != "input" or sum(a.ActivityType == "input" for a in activities) != 1:
        raise InvalidInputError(f"{where}[0]: the first activity, and only it, is the input", code="InvalidParameterValue")
    before: dict[int, list[int]] = {}
    for index, activity in enumerate(activities):
        for after in activity.ReardriveIndex or []:
            if not index < after < len(activities):
                raise InvalidInputError(f"{where}[{index}].ReardriveIndex: {after} is not a later activity",
                                        code="InvalidParameterValue")
            before.setdefault(after, []).append(index)
    watch, given = watch_of(request.Trigger), request.given()
    names: dict[int, str] = {}
    nodes: dict[str, Any] = {"Start": watch.start()}
    refs, plan = {}, None
    for index, activity in enumerate(activities):
        if activity.ActivityType in ("input", "output"):
            continue
        if activity.ActivityType not in ACTIONS:
            raise InvalidInputError(f"{where}[{index}].ActivityType: {activity.ActivityType!r} is not supported "
                                    f"(input, output, {', '.join(ACTIONS)})", code="InvalidParameterValue")
        if len(before.get(index, [])) != 1:
            raise InvalidInputError(f"{where}[{index}]: an action takes exactly one activity's output",
                                    code="InvalidParameterValue")
        field, task_set = ACTIONS[activity.ActivityType]
        para = getattr(activity.ActivityPara, field, None) if activity.ActivityPara else None
        if para is None:
            raise InvalidInputError(f"{where}[{index}].ActivityPara.{field} is required", code="MissingParameter")
        try:  # planned as a ProcessMedia of that one task: every check it makes
            plan = plan_task({"InputInfo": watch.source(), "OutputDir": request.OutputDir or INPUT_DIRECTORY,
                              "MediaProcessTask": {task_set: [para.given()]},
                              **{k: given[k] for k in ("OutputStorage", "TaskNotifyConfig") if k in given}}, custom_preset)
        except InvalidInputError as error:
            raise InvalidInputError(f"{where}[{index}].ActivityPara.{field}: {error.message.split(': ', 1)[-1]}",
                                    code=error.code) from None
        (subtask,), (ref,) = plan.subtasks, plan.refs
        names[index] = f"{subtask.tag}_activity{index}"  # a node is named by its Type
        nodes[names[index]] = {"Type": subtask.tag, "Operation": subtask.operation}
        refs[names[index]] = ref.model_copy(update={"Index": index})
    if plan is None:
        raise InvalidInputError(f"{where}: at least one action is required", code="MissingParameter")

    def next_of(index: int) -> str:
        return ",".join(names[after] for after in activities[index].ReardriveIndex or [] if after in names) or "End"

    dependencies = {"Start": next_of(0), **{name: next_of(index) for index, name in names.items()}}
    flow = MpsFlow(Kind="Schedule", Request=echoed(given), InputType=watch.input_type, Region=watch.region, Refs=refs,
                   Notify=plan.notify, NotifyInfo=plan.notify_info, NotifyKey=plan.notify_key)
    return watch.bucket, {"Name": request.ScheduleName, "Topology": {"Dependencies": dependencies, "Nodes": nodes}}, flow


def create(body: dict[str, Any], key: ApiKey | None) -> dict[str, Any]:
    bucket, spec, flow = _planned(parse(CreateScheduleRequest, body))
    if key is not None:
        require(key, "configure", bucket, code=UNAUTHORISED)
    return {"ScheduleId": int(workflows.create_workflow(bucket, {**spec, "State": "Paused"}, mps=flow).WorkflowId)}


def modify(body: dict[str, Any], key: ApiKey | None) -> dict[str, Any]:
    request = parse(ModifyScheduleRequest, body)
    existing = mine(request.ScheduleId, key, kind="Schedule")
    assert existing.Mps is not None
    merged = {**existing.Mps.Request, **request.given(exclude={"ScheduleId"})}
    bucket, spec, flow = _planned(parse(CreateScheduleRequest, merged))
    if bucket != existing.BucketId:
        raise InvalidInputError(f"Trigger: schedule {request.ScheduleId} watches bucket {existing.BucketId}",
                                code="InvalidParameterValue")
    workflows.update_workflow(bucket, existing.WorkflowId, spec, mps=flow)
    return {}


def describe(body: dict[str, Any], key: ApiKey | None) -> dict[str, Any]:
    request = parse(DescribeSchedulesRequest, body)
    wanted = {str(i) for i in request.ScheduleIds or []}
    found = [s for s in workflows.mps_workflows("Schedule")
             if (not wanted or s.WorkflowId in wanted) and request.Status in (None, STATUS[s.State])
             and request.TriggerType in (None, (s.Mps.Request.get("Trigger") or {}).get("Type") if s.Mps else None)
             and (key is None or key.sees(s.BucketId))]
    return {"TotalCount": len(found), "ScheduleInfoSet": [_info(s) for s in found[request.Offset:][:request.Limit]]}


def _info(schedule: Workflow) -> dict[str, Any]:
    request = dict(schedule.Mps.Request) if schedule.Mps else {}
    return {"ScheduleId": int(schedule.WorkflowId), "ScheduleName": schedule.Name, "Type": "Custom",
            "Status": STATUS[schedule.State], "Trigger": request.get("Trigger"), "Activities": request.get("Activities"),
            "OutputStorage": request.get("OutputStorage"), "OutputDir": request.get("OutputDir", ""),
            "TaskNotifyConfig": request.get("TaskNotifyConfig"), "CreateTime": mps.mps_time(schedule.CreateTime),
            "UpdateTime": mps.mps_time(schedule.UpdateTime)}


def run(body: dict[str, Any], key: ApiKey | None) -> str:
    """ProcessMedia with a ScheduleId: the schedule run on the request's input, enabled or not."""
    request = parse(ProcessMediaRequest, body)
    if request.MediaProcessTask is not None:
        raise InvalidInputError("MediaProcessTask: not with a ScheduleId (the schedule says what to do)",
                                code="InvalidParameterValue")
    schedule = mine(request.ScheduleId or 0, key, "submit", kind="Schedule")
    bucket, object_key, region = stored_object(request.InputInfo, key, "submit", "with a ScheduleId")
    return dispatch.start_run(schedule, bucket, object_key, run_id=mps.task_id(), region=region or config.region(),
                              headers=dispatch.cos_headers(bucket, object_key, "ObjectCreated:Trigger"),
                              media_queue_url=setting("MEDIA_QUEUE_URL"), output_bucket=setting("OUTPUT_BUCKET"))
