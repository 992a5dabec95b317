"""MPS workflows: CreateWorkflow, DescribeWorkflows, Enable/Disable/Reset/DeleteWorkflow.

One engine: an MPS workflow is a workflow record like the COS face's (`control.workflows`), run by the
same dispatcher. Its trigger becomes the Start node (Dir -> ObjectPrefix, Formats -> the extension
filter), each subtask of its MediaProcessTask a node after Start (in parallel), planned exactly as
ProcessMedia plans them; `MpsFlow` keeps what makes each run an MPS task (its subtasks, priority and
TaskNotifyConfig). A workflow is created Disabled, as MPS creates them."""

from __future__ import annotations

from typing import Any, NamedTuple

from ...control import workflows
from ...control.workflows import MpsFlow, Workflow
from ...exceptions import InvalidInputError
from ...shapes.mps import mps_time
from ..keys import UNAUTHORISED, ApiKey, require
from .plan import plan_task
from .templates import custom_preset
from .wire import (
    CreateWorkflowRequest,
    DescribeWorkflowsRequest,
    ResetWorkflowRequest,
    ScheduleIdRequest,
    WorkflowIdRequest,
    WorkflowTrigger,
    parse,
)

STATUS = {"Active": "Enabled", "Paused": "Disabled"}
TASK_FIELDS = ("OutputStorage", "MediaProcessTask", "TaskNotifyConfig")
# A run's outputs default to its input's directory (OutputDir left out), as MPS writes them.
INPUT_DIRECTORY = "/${InputPath}/"


class Watch(NamedTuple):
    """What a trigger watches: a bucket, the uploads under a prefix with given extensions."""

    bucket: str
    region: str
    input_type: str  # COS or AWS-S3
    prefix: str
    extensions: str  # "mp4/mov", "" for every file

    def source(self) -> dict[str, Any]:
        """An InputInfo for a stand-in upload, to plan the task each upload becomes (every check
        ProcessMedia makes) once, now."""
        key = "/" + self.prefix + "input"
        if self.input_type == "COS":
            return {"Type": "COS", "CosInputInfo": {"Bucket": self.bucket, "Region": self.region, "Object": key}}
        return {"Type": "AWS-S3", "S3InputInfo": {"S3Bucket": self.bucket, "S3Region": self.region, "S3Object": key}}

    def start(self) -> dict[str, Any]:
        """The Start node that filters the uploads."""
        ext = {"State": "On", "Custom": "true", "CustomExts": self.extensions} if self.extensions else None
        return {"Type": "Start", "Input": {"ObjectPrefix": self.prefix, "ExtFilter": ext}}


def watch_of(trigger: WorkflowTrigger) -> Watch:
    if trigger.Type == "CosFileUpload":
        cos = trigger.CosFileUploadTrigger
        if cos is None:
            raise InvalidInputError("Trigger.CosFileUploadTrigger is required", code="MissingParameter")
        bucket, region, directory, formats = cos.Bucket, cos.Region, cos.Dir, cos.Formats
    else:
        s3 = trigger.AwsS3FileUploadTrigger
        if s3 is None:
            raise InvalidInputError("Trigger.AwsS3FileUploadTrigger is required", code="MissingParameter")
        bucket, region, directory, formats = s3.S3Bucket, s3.S3Region, s3.Dir, s3.Formats
    return Watch(bucket, region, "COS" if trigger.Type == "CosFileUpload" else "AWS-S3", (directory or "/").lstrip("/"),
                 "/".join(sorted({f.lower().lstrip(".") for f in formats or []})))


def echoed(given: dict[str, Any]) -> dict[str, Any]:
    """A request as described back: NotifyKey signs notifications and is never shown."""
    if "TaskNotifyConfig" not in given:
        return given
    return {**given, "TaskNotifyConfig": {k: v for k, v in given["TaskNotifyConfig"].items() if k != "NotifyKey"}}


def _planned(request: CreateWorkflowRequest) -> tuple[str, dict[str, Any], MpsFlow]:
    """(bucket, MediaWorkflow element, MpsFlow) of a CreateWorkflow/ResetWorkflow request."""
    for name in ("AiContentReviewTask", "AiAnalysisTask", "AiRecognitionTask"):
        if getattr(request, name):
            raise InvalidInputError(f"{name}: not supported by this service", code="InvalidParameterValue")
    watch = watch_of(request.Trigger)
    given = request.given()
    plan = plan_task({"InputInfo": watch.source(), "OutputDir": request.OutputDir or INPUT_DIRECTORY,
                      "TasksPriority": request.TaskPriority, **{k: given[k] for k in TASK_FIELDS if k in given}},
                     custom_preset)
    names = [f"{sub.tag}_{sub.set_type}{sub.index}" for sub in plan.subtasks]  # a node is named by its Type
    spec = {"Name": request.WorkflowName, "Topology": {
        "Dependencies": {"Start": ",".join(names), **dict.fromkeys(names, "End")},
        "Nodes": {"Start": watch.start(),
                  **{name: {"Type": sub.tag, "Operation": sub.operation} for name, sub in zip(names, plan.subtasks)}}}}
    flow = MpsFlow(Request=echoed(given), InputType=plan.input_type, Region=watch.region, Refs=dict(zip(names, plan.refs)),
                   Priority=plan.priority, Notify=plan.notify, NotifyInfo=plan.notify_info, NotifyKey=plan.notify_key)
    return watch.bucket, spec, flow


def mine(workflow_id: int, key: ApiKey | None, action: str = "configure", *, kind: str = "Workflow") -> Workflow:
    """The MPS workflow (or schedule) with that id, once the key is known to open its bucket for `action`."""
    found = next((w for w in workflows.mps_workflows(kind) if w.WorkflowId == str(workflow_id)), None)
    if found is None or (key is not None and not key.sees(found.BucketId)):
        raise InvalidInputError(f"{kind}Id: {workflow_id} does not exist", code=f"ResourceNotFound.{kind}NotExist")
    if key is not None:
        require(key, action, found.BucketId, code=UNAUTHORISED)  # type: ignore[arg-type]
    return found


def create(body: dict[str, Any], key: ApiKey | None) -> dict[str, Any]:
    bucket, spec, flow = _planned(parse(CreateWorkflowRequest, body))
    if key is not None:
        require(key, "configure", bucket, code=UNAUTHORISED)
    workflow = workflows.create_workflow(bucket, {**spec, "State": "Paused"}, mps=flow)
    return {"WorkflowId": int(workflow.WorkflowId)}


def reset(body: dict[str, Any], key: ApiKey | None) -> dict[str, Any]:
    request = parse(ResetWorkflowRequest, body)
    existing = mine(request.WorkflowId, key)
    bucket, spec, flow = _planned(request)
    if bucket != existing.BucketId:
        raise InvalidInputError(f"Trigger: workflow {request.WorkflowId} watches bucket {existing.BucketId}; "
                                "create another workflow for another bucket", code="InvalidParameterValue")
    workflows.update_workflow(bucket, existing.WorkflowId, spec, mps=flow)
    return {}


# A workflow's or a schedule's id: its request model and field (Enable/Disable/Delete<kind>).
ID_REQUESTS = {"Workflow": (WorkflowIdRequest, "WorkflowId"), "Schedule": (ScheduleIdRequest, "ScheduleId")}


def _named(body: dict[str, Any], key: ApiKey | None, kind: str) -> Workflow:
    model, field = ID_REQUESTS[kind]
    return mine(getattr(parse(model, body), field), key, kind=kind)


def switch(state: str, kind: str = "Workflow") -> Any:
    """Enable<kind> (Active) or Disable<kind> (Paused), for a workflow or a schedule."""
    def handle(body: dict[str, Any], key: ApiKey | None) -> dict[str, Any]:
        workflow = _named(body, key, kind)
        workflows.set_workflow_state(workflow.BucketId, workflow.WorkflowId, state)  # type: ignore[arg-type]
        return {}
    return handle


def delete(kind: str = "Workflow") -> Any:
    """Delete<kind>: MPS deletes only a disabled workflow or schedule."""
    def handle(body: dict[str, Any], key: ApiKey | None) -> dict[str, Any]:
        workflow = _named(body, key, kind)
        if workflow.State == "Active":
            raise InvalidInputError(f"{kind}Id: {kind.lower()} {workflow.WorkflowId} is enabled; disable it first",
                                    code="FailedOperation.InvalidStatus")
        workflows.delete_workflow(workflow.BucketId, workflow.WorkflowId)
        return {}
    return handle


def describe(body: dict[str, Any], key: ApiKey | None) -> dict[str, Any]:
    request = parse(DescribeWorkflowsRequest, body)
    wanted = {str(i) for i in request.WorkflowIds or []}
    found = [w for w in workflows.mps_workflows()
             if (not wanted or w.WorkflowId in wanted) and (request.Status in (None, STATUS[w.State]))
             and (key is None or key.sees(w.BucketId))]
    shown = found[request.Offset: request.Offset + request.Limit]
    return {"TotalCount": len(found), "WorkflowInfoSet": [workflow_info(w) for w in shown]}


def workflow_info(workflow: Workflow) -> dict[str, Any]:
    """WorkflowInfo as MPS answers it: the request as it was given, with the workflow's id, status and times."""
    request = dict(workflow.Mps.Request) if workflow.Mps else {}
    return {
        "WorkflowId": int(workflow.WorkflowId), "WorkflowName": workflow.Name, "Status": STATUS[workflow.State],
        "Trigger": request.get("Trigger"), "OutputStorage": request.get("OutputStorage"),
        "MediaProcessTask": request.get("MediaProcessTask"), "TaskNotifyConfig": request.get("TaskNotifyConfig"),
        "TaskPriority": request.get("TaskPriority", 0), "OutputDir": request.get("OutputDir", ""),
        "AiContentReviewTask": None, "AiAnalysisTask": None, "AiRecognitionTask": None,
        "CreateTime": mps_time(workflow.CreateTime), "UpdateTime": mps_time(workflow.UpdateTime),
    }
