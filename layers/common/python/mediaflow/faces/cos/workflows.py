"""COS CI workflows: CRUD, activate/pause, TriggerWorkflow, and the runs (WorkflowExecution)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from ...config import setting
from ...control.jobs import get_execution, jobs_of
from ...control.workflows import (
    Workflow,
    create_workflow,
    delete_workflow,
    get_workflow,
    list_workflows,
    set_workflow_state,
    update_workflow,
)
from ...exceptions import InvalidInputError, NotFoundError
from ...models import Execution
from ...persistence import store
from ...pipeline import dispatch
from ...shapes.cos import workflow_execution
from ..routing import Route, page, times

router = Router()
route = Route(router)
# A run waiting in its queue shows as Running: CI's run states are Success, Failed, Running and Cancel.
RUN_STATES = {"Submitted": "Running", "Pause": "Running", "Running": "Running", "Success": "Success",
              "Failed": "Failed", "Cancel": "Cancel"}


def workflow_element(workflow: Workflow) -> dict[str, Any]:
    topology = workflow.Topology.model_dump(exclude_none=True)
    return times({"Name": workflow.Name, "State": workflow.State, "WorkflowId": workflow.WorkflowId,
                  "BucketId": workflow.BucketId, "CreateTime": workflow.CreateTime,
                  "UpdateTime": workflow.UpdateTime, "Topology": topology})


def _spec() -> Any:
    return route.body().get("MediaWorkflow")


@router.post("/workflow")
def create() -> Response[str]:
    return route.ok({"MediaWorkflow": workflow_element(create_workflow(route.bucket, _spec()))})


@router.put("/workflow/<workflow_id>")
def update(workflow_id: str) -> Response[str]:
    if route.flag("active") or route.flag("paused"):
        workflow = set_workflow_state(route.bucket, workflow_id, "Active" if route.flag("active") else "Paused")
        return route.ok({"WorkflowId": workflow.WorkflowId, "State": workflow.State})
    return route.ok({"MediaWorkflow": workflow_element(update_workflow(route.bucket, workflow_id, _spec()))})


@router.get("/workflow")
def describe() -> Response[str]:
    number, size = route.integer("pageNumber", 1, 1, 10000), route.integer("pageSize", 10, 1, 100)
    wanted = route.ids("ids")
    found = list_workflows(route.bucket, ids_=wanted, name=route.query("name"))
    payload: dict[str, Any] = {"MediaWorkflowList": [workflow_element(w) for w in page(found, number, size)],
                               "TotalCount": len(found), "PageNumber": number, "PageSize": size}
    missing = [i for i in wanted if i not in {w.WorkflowId for w in found}]
    if missing:
        payload["NonExistIDs"] = missing
    return route.ok(payload)


@router.delete("/workflow/<workflow_id>")
def delete(workflow_id: str) -> Response[str]:
    delete_workflow(route.bucket, workflow_id)
    return route.ok({"WorkflowId": workflow_id})


@router.post("/triggerworkflow")
def trigger() -> Response[str]:
    workflow_id, key = route.query("workflowId"), route.query("object")
    if not workflow_id or not key:
        raise InvalidInputError("workflowId and object are required query parameters")
    workflow = get_workflow(route.bucket, workflow_id)
    try:
        run_id = dispatch.trigger(workflow, key, media_queue_url=setting("MEDIA_QUEUE_URL"),
                                  output_bucket=setting("OUTPUT_BUCKET"))
    except NotFoundError as error:
        raise InvalidInputError(f"object: {error.message}") from error
    return route.ok({"InstanceId": run_id})


def _run(run_id: str) -> Execution:
    try:
        execution = get_execution(run_id)
    except NotFoundError:
        execution = None
    if execution is None or execution.bucket != route.bucket or not execution.workflow_id:
        raise NotFoundError(f"RunId {run_id} does not exist")
    return execution


@router.get("/workflowexecution/<run_id>")
def describe_execution(run_id: str) -> Response[str]:
    execution = _run(run_id)
    element = workflow_execution(execution, jobs_of(execution))
    element["State"] = RUN_STATES[execution.state]
    try:
        element["Topology"] = get_workflow(route.bucket, execution.workflow_id or "").Topology.model_dump(exclude_none=True)
    except NotFoundError:
        pass  # the workflow was deleted since; the run's record stands on its own
    return route.ok({"WorkflowExecution": element})


@router.get("/workflowexecution")
def list_executions() -> Response[str]:
    workflow_id = route.query("workflowId")
    if not workflow_id:
        raise InvalidInputError("workflowId is a required query parameter")
    get_workflow(route.bucket, workflow_id)
    states = {s for s in route.ids("states") if s != "All"}
    if states - set(RUN_STATES.values()):
        raise InvalidInputError("states: a comma list of All, Success, Failed, Running, Cancel")
    order = route.query("orderByTime") or "Desc"
    if order not in ("Desc", "Asc"):
        raise InvalidInputError("orderByTime: Desc or Asc")
    name = route.query("name")
    start, end = route.time("startCreationTime"), route.time("endCreationTime")
    low = dispatch.created_key(start, "") if start else "0"
    high = dispatch.created_key(end, "~") if end else "~"
    found = store.query_page(
        "gsi2", f"WORKFLOW#{workflow_id}#RUNS", Execution, size=route.integer("size", 10, 1, 100),
        ascending=order == "Asc", after=route.query("nextToken") or None, between=(low, high),
        keep=lambda e: (not states or RUN_STATES[e.state] in states) and (not name or e.object == name),
    )
    runs = [times({"RunId": e.id, "WorkflowId": e.workflow_id, "State": RUN_STATES[e.state], "CreateTime": e.created,
                   "CreationTime": e.created, "Object": e.object}) for e in found.items]
    return route.ok({"WorkflowExecutionList": runs, "NextToken": found.next_token})
