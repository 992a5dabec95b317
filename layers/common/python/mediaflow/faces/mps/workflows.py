"""MPS workflows: CreateWorkflow, DescribeWorkflows, Enable/Disable/Reset/DeleteWorkflow.

One engine: an MPS workflow is a workflow record like the COS face's (`control.workflows`), run by the
same dispatcher. Its trigger becomes the Start node (Dir -> ObjectPrefix, Formats -> the extension
filter), each subtask of its MediaProcessTask a node after Start (in parallel), planned exactly as
ProcessMedia plans them; `MpsFlow` keeps what makes each run an MPS task (its subtasks, priority and
TaskNotifyConfig). A workflow is created Disabled, as MPS creates them."""

from __future__ import annotations

from typing import Any

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
    WorkflowIdRequest,
    parse,
)

STATUS = {"Active": "Enabled", "Paused": "Disabled"}
TASK_FIELDS = ("OutputStorage", "MediaProcessTask", "TaskNotifyConfig")
# A run's outputs default to its input's directory (OutputDir left out), as MPS writes them.
INPUT_DIRECTORY = "/${InputPath}/"


def _planned(request: CreateWorkflowRequest) -> tuple[str, dict[str, Any], MpsFlow]:
    """(bucket, MediaWorkflow element, MpsFlow) of a CreateWorkflow/ResetWorkflow request."""
    for name in ("AiContentReviewTask", "AiAnalysisTask", "AiRecognitionTask"):
        if getattr(request, name):
            raise InvalidInputError(f"{name}: not supported by this service", code="InvalidParameterValue")
    trigger = request.Trigger
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
    prefix = (directory or "/").lstrip("/")
    # The task each upload becomes, planned once now (every check ProcessMedia makes) on a stand-in object.
    stand_in = "/" + prefix + "input"
    source = ({"Type": "COS", "CosInputInfo": {"Bucket": bucket, "Region": region, "Object": stand_in}}
              if trigger.Type == "CosFileUpload" else
              {"Type": "AWS-S3", "S3InputInfo": {"S3Bucket": bucket, "S3Region": region, "S3Object": stand_in}})
    given = request.given()
    plan = plan_task({"InputInfo": source, "OutputDir": request.OutputDir or INPUT_DIRECTORY,
                      "TasksPriority": request.TaskPriority, **{k: given[k] for k in TASK_FIELDS if k in given}},
                     custom_preset)
    names = [f"{sub.tag}_{sub.set_type}{sub.index}" for sub in plan.subtasks]  # a node is named by its Type
    extensions = "/".join(sorted({f.lower().lstrip(".") for f in formats or []}))
    start = {"ObjectPrefix": prefix,
             "ExtFilter": {"State": "On", "Custom": "true", "CustomExts": extensions} if extensions else None}
    spec = {"Name": request.WorkflowName, "Topology": {
        "Dependencies": {"Start": ",".join(names), **dict.fromkeys(names, "End")},
        "Nodes": {"Start": {"Type": "Start", "Input": start},
                  **{name: {"Type": sub.tag, "Operation": sub.operation} for name, sub in zip(names, plan.subtasks)}}}}
    echoed = {**given, "TaskNotifyConfig": {k: v for k, v in given["TaskNotifyConfig"].items() if k != "NotifyKey"}
              } if "TaskNotifyConfig" in given else given  # NotifyKey signs notifications; it is never shown
    flow = MpsFlow(Request=echoed, InputType=plan.input_type, Region=region, Refs=dict(zip(names, plan.refs)),
                   Priority=plan.priority, Notify=plan.notify, NotifyInfo=plan.notify_info, NotifyKey=plan.notify_key)
    return bucket, spec, flow


def _mine(workflow_id: int, key: ApiKey | None, action: str = "configure") -> Workflow:
    """The MPS workflow with that id, once the key is known to open its bucket for `action`."""
    found = next((w for w in workflows.mps_workflows() if w.WorkflowId == str(workflow_id)), None)
    if found is None or (key is not None and not key.sees(found.BucketId)):
        raise InvalidInputError(f"WorkflowId: {workflow_id} does not exist", code="ResourceNotFound.WorkflowNotExist")
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
    existing = _mine(request.WorkflowId, key)
    bucket, spec, flow = _planned(request)
    if bucket != existing.BucketId:
        raise InvalidInputError(f"Trigger: workflow {request.WorkflowId} watches bucket {existing.BucketId}; "
                                "create another workflow for another bucket", code="InvalidParameterValue")
    workflows.update_workflow(bucket, existing.WorkflowId, spec, mps=flow)
    return {}


def switch(state: str) -> Any:
    """EnableWorkflow (Active) or DisableWorkflow (Paused)."""
    def handle(body: dict[str, Any], key: ApiKey | None) -> dict[str, Any]:
        workflow = _mine(parse(WorkflowIdRequest, body).WorkflowId, key)
        workflows.set_workflow_state(workflow.BucketId, workflow.WorkflowId, state)  # type: ignore[arg-type]
        return {}
    return handle


def delete(body: dict[str, Any], key: ApiKey | None) -> dict[str, Any]:
    workflow = _mine(parse(WorkflowIdRequest, body).WorkflowId, key)
    if workflow.State == "Active":  # MPS deletes only a disabled workflow
        raise InvalidInputError(f"WorkflowId: workflow {workflow.WorkflowId} is enabled; disable it first",
                                code="FailedOperation.InvalidStatus")
    workflows.delete_workflow(workflow.BucketId, workflow.WorkflowId)
    return {}


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
