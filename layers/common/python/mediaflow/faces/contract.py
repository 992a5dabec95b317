"""The published contract: every operation of both faces as one OpenAPI 3.1 document (`document`).

Request bodies are the JSON schemas of the pydantic models that parse them, with OpenAPI `xml`
objects on the COS face (`<Request>` in, `<Response>` and `<Error>` out); answers list the elements
each operation renders and every status it returns. The MPS face is one `POST /` whose action is the
`X-TC-Action` header; OpenAPI keys operations by path and method, so each action is published as its
own path `/#<Action>`: the fragment is never sent (clients post to `/`), and the action's one allowed
`X-TC-Action` value is declared on it. `tests/integration/test_contract.py` holds the served API to it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from ..control.queues import QueueUpdate
from ..control.submit import JobsRequest
from ..control.templates import FIELD, PARAMS, TEMPLATE_TAGS, TOP_LEVEL_FIELDS
from ..control.workflows import Workflow
from .keys import MPS_ACTIONS, action_of
from .mps import routes as mps
from .mps import metadata as mps_metadata
from .mps import schedules
from .mps import templates as mps_templates
from .mps import wire

REF = "#/components/schemas/{model}"
XML, JSON = "application/xml", "application/json"
STRING, INTEGER, NUMBER = {"type": "string"}, {"type": "integer"}, {"type": "number"}
CI_TIME = {"type": "string", "description": "e.g. 2022-06-27T15:23:12+0800"}


def obj(required: tuple[str, ...] = (), **properties: Any) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    return schema | ({"required": list(required)} if required else {})


def many(item: dict[str, Any]) -> dict[str, Any]:
    """A repeated element (`<Item>..</Item><Item>..</Item>`, OpenAPI's unwrapped array)."""
    return {"type": "array", "items": item}


def flag(name: str, description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "allowEmptyValue": True,
            "schema": {"type": "string", "maxLength": 0}, "description": description}


def query(name: str, schema: dict[str, Any] | None = None, *, required: bool = False, description: str = "") -> dict[str, Any]:
    return {"name": name, "in": "query", "required": required, "schema": schema or STRING,
            **({"description": description} if description else {})}


def paging(largest_page: int = 10000) -> list[dict[str, Any]]:
    return [query("pageNumber", {"type": "integer", "minimum": 1, "maximum": largest_page}),
            query("pageSize", {"type": "integer", "minimum": 1, "maximum": 100})]


ORDER = query("orderByTime", {"type": "string", "enum": ["Desc", "Asc"]})
TOKEN_AND_SIZE = [query("nextToken"), query("size", {"type": "integer", "minimum": 1, "maximum": 100})]
CREATED = [query("startCreationTime", CI_TIME), query("endCreationTime", CI_TIME)]


# --------------------------------------------------------------------------- what the answers hold
JOB = obj(("JobId", "Tag", "State"), Code=STRING, Message=STRING, JobId=STRING, Tag=STRING,
          State={"type": "string", "enum": ["Submitted", "Running", "Success", "Failed", "Pause", "Cancel"]},
          Progress=NUMBER, CreationTime=CI_TIME, StartTime=CI_TIME, EndTime=CI_TIME, QueueId=STRING,
          Input=obj(BucketId=STRING, Object=STRING, Region=STRING), Operation={"type": "object"},
          Workflow=obj(RunId=STRING, WorkflowId=STRING, WorkflowName=STRING, Name=STRING))
WORKFLOW = obj(("Name", "State", "WorkflowId", "BucketId", "Topology"), Name=STRING,
               State={"type": "string", "enum": ["Active", "Paused"]}, WorkflowId=STRING, BucketId=STRING,
               CreateTime=CI_TIME, UpdateTime=CI_TIME, Topology={"type": "object"})
QUEUE = obj(("QueueId", "Name", "State"), QueueId=STRING, Name=STRING, BucketId=STRING,
            State={"type": "string", "enum": ["Active", "Paused"]}, MaxSize=INTEGER, MaxConcurrent=INTEGER,
            Category=STRING, CreateTime=CI_TIME, UpdateTime=CI_TIME, NotifyConfig={"type": "object"},
            MaxInputSize=INTEGER, MaxInputDuration=NUMBER, MaxOutputsPerJob=INTEGER,
            Statistics={"type": "object"}, NotifySigningKey=STRING)
TEMPLATE = obj(("TemplateId", "Name", "Tag", "Category"), TemplateId=STRING, Name=STRING, Tag=STRING,
               Category={"type": "string", "enum": ["Official", "Custom"]}, BucketId=STRING,
               CreateTime=CI_TIME, UpdateTime=CI_TIME)
BUCKET = obj(("BucketId", "State"), BucketId=STRING, Name=STRING, Region=STRING, CreateTime=CI_TIME,
             State={"type": "string", "enum": ["Active", "Pending"]}, Access=STRING, Events=STRING,
             Setup={"type": "object"})
RUN = obj(("RunId", "WorkflowId", "State"), RunId=STRING, WorkflowId=STRING, WorkflowName=STRING,
          BucketId=STRING, Object=STRING, CreateTime=CI_TIME, CreationTime=CI_TIME,
          State={"type": "string", "enum": ["Running", "Success", "Failed", "Cancel"]},
          Tasks=many({"type": "object"}), Topology={"type": "object"})
PAGE = {"TotalCount": INTEGER, "PageNumber": INTEGER, "PageSize": INTEGER}
ERROR = obj(("Code", "Message", "RequestId"), Code=STRING, Message=STRING, Resource=STRING, RequestId=STRING,
            TraceId=STRING) | {"xml": {"name": "Error"}}


# --------------------------------------------------------------------------- request bodies, from the models
class _Template(BaseModel):
    """Stands for CreateMediaTemplate's <Request> in the document only: Tag and Name, and the Tag's own
    element (each is one of the PARAMS models that `control.templates` validates with)."""


def template_request(schemas: dict[str, Any]) -> dict[str, Any]:
    properties: dict[str, Any] = {"Tag": {"type": "string", "enum": list(TEMPLATE_TAGS)},
                                  "Name": {"type": "string", "pattern": r"^[A-Za-z0-9_*-]{1,64}$"}}
    for tag in TEMPLATE_TAGS:
        params = schemas[PARAMS[tag].__name__]
        if tag in TOP_LEVEL_FIELDS:  # Transcode's and Animation's parameters sit directly in <Request>
            properties |= {name: params["properties"][name] for name in TOP_LEVEL_FIELDS[tag]
                           if name in params.get("properties", {})}
        else:
            properties[FIELD.get(tag, tag)] = {"$ref": REF.format(model=PARAMS[tag].__name__)}
    return obj(("Tag", "Name"), **properties)


def workflow_request(schemas: dict[str, Any]) -> dict[str, Any]:
    """MediaWorkflow as a client sends it: the stored Workflow less what the service sets."""
    own = schemas["Workflow"]
    kept = {name: value for name, value in own["properties"].items()
            if name not in ("WorkflowId", "BucketId", "CreateTime", "UpdateTime")}
    return obj(("MediaWorkflow",), MediaWorkflow=obj(("Name", "Topology"), **kept))


# --------------------------------------------------------------------------- the operations
@dataclass(frozen=True)
class Op:
    method: str
    path: str
    id: str  # Tencent's name for the call
    summary: str
    params: list[dict[str, Any]] = field(default_factory=list)
    body: str | None = None  # a key of BODIES
    answer: dict[str, Any] | None = None  # the <Response> children; None: an empty 200
    body_required: bool = True
    links: dict[str, dict[str, Any]] = field(default_factory=dict)  # OpenAPI links of the 200 answer


def links(made: str, *ops: tuple[str, str]) -> dict[str, dict[str, Any]]:
    """Where a created resource's id goes next: (operationId, its parameter) for each operation;
    an update sends the creating request's body again."""
    found = f"$response.body#/{made}"
    return {target: {"operationId": target, "parameters": {parameter: found},
                     **({"requestBody": "$request.body"} if target.startswith("Update") else {})}
            for target, parameter in ops}


FAMILIES = (("", "Media", "queue", "mediabucket"), ("asr_", "Speech", "asrqueue", "asrbucket"),
            ("doc_", "Doc", "docqueue", "docbucket"))


def cos_operations() -> list[Op]:
    ops: list[Op] = []
    for prefix, name, queue, bucket in FAMILIES:
        jobs = f"/{prefix}jobs"
        ops += [
            Op("POST", jobs, f"Create{name}Jobs", f"Submit {name.lower()} jobs (one per Operation)", body="Jobs",
               answer={"JobsDetail": many(JOB)},
               links=links("JobsDetail/0/JobId", (f"Describe{name}Job", "job_ids"), (f"Cancel{name}Job", "job_ids"))),
            Op("GET", jobs, f"Describe{name}Jobs", f"List {name.lower()} jobs, newest first unless orderByTime=Asc",
               [query("states", description="comma list of job states, or All"), ORDER, query("tag"),
                query("queueId"), query("workflowId"), query("inputObject"), *CREATED, *TOKEN_AND_SIZE],
               answer={"JobsDetail": many(JOB), "NextToken": STRING}),
            Op("GET", jobs + "/{job_ids}", f"Describe{name}Job", "Describe jobs by id (comma list)",
               answer={"JobsDetail": many(JOB), "NonExistJobIds": many(STRING)}),
            Op("PUT", jobs + "/{job_ids}", f"Cancel{name}Job", "Cancel jobs that have not ended (comma list)",
               [flag("cancel", "required: the call cancels") | {"required": True}], body_required=False),
            Op("GET", f"/{queue}", f"Describe{name}Queues", f"The bucket's {name.lower()} queue",
               [query("queueIds"), query("state", {"type": "string", "enum": ["All", "Active", "Paused"]}), *paging()],
               answer={**PAGE, "QueueList": many(QUEUE), "NonExistPIDs": obj(QueueID=many(STRING))}),
            Op("PUT", f"/{queue}/{{queue_id}}", f"Update{name}Queue",
               "Rename, pause or resume the queue; its callback rule and cost limits", body="Queue",
               answer={"Queue": QUEUE}),
            Op("POST", f"/{bucket}", f"Create{name}Bucket", "Open the service on the request's bucket",
               answer={"MediaBucket": BUCKET}, body_required=False),
            Op("GET", f"/{bucket}", f"Describe{name}Buckets", "The buckets served, as far as the key may see",
               [query("bucketName"), query("bucketNames", description="comma list"), *paging(100_000)],
               answer={**PAGE, "MediaBucketList": many(BUCKET)}),
        ]
    ops += [
        Op("GET", "/jobs/{job_id}/notifications", "DescribeJobNotifications",
           "Where each event of the job went and how its delivery went", answer={"Notification": many({"type": "object"})}),
        Op("POST", "/template", "CreateMediaTemplate", "Create a Custom template", body="Template",
           answer={"Template": TEMPLATE},
           links=links("Template/TemplateId", ("DescribeMediaTemplates", "ids"), ("UpdateMediaTemplate", "template_id"),
                       ("DeleteMediaTemplate", "template_id"))),
        Op("GET", "/template", "DescribeMediaTemplates", "List templates (Custom unless category=Official)",
           [query("category", {"type": "string", "enum": ["Official", "Custom"]}), query("tag"),
            query("ids", description="comma list"), query("name"), *paging()],
           answer={**PAGE, "TemplateList": many(TEMPLATE)}),
        Op("PUT", "/template/{template_id}", "UpdateMediaTemplate", "Change a Custom template", body="Template",
           answer={"Template": TEMPLATE}),
        Op("DELETE", "/template/{template_id}", "DeleteMediaTemplate", "Delete a Custom template no workflow uses",
           answer={"TemplateId": STRING}),
        Op("POST", "/workflow", "CreateMediaWorkflow", "Create a workflow bound to the bucket", body="Workflow",
           answer={"MediaWorkflow": WORKFLOW},
           links=links("MediaWorkflow/WorkflowId", ("DescribeMediaWorkflow", "ids"), ("UpdateMediaWorkflow", "workflow_id"),
                       ("DeleteMediaWorkflow", "workflow_id"))),
        Op("GET", "/workflow", "DescribeMediaWorkflow", "List workflows",
           [query("ids", description="comma list"), query("name"), *paging()],
           answer={**PAGE, "MediaWorkflowList": many(WORKFLOW), "NonExistIDs": many(STRING)}),
        Op("PUT", "/workflow/{workflow_id}", "UpdateMediaWorkflow",
           "Replace a workflow, or with ?active / ?paused (no body) switch it on or off",
           [flag("active", "switch the workflow on"), flag("paused", "switch the workflow off")], body="Workflow",
           answer={"MediaWorkflow": WORKFLOW, "WorkflowId": STRING, "State": STRING}, body_required=False),
        Op("DELETE", "/workflow/{workflow_id}", "DeleteMediaWorkflow", "Delete a workflow",
           answer={"WorkflowId": STRING}),
        Op("POST", "/triggerworkflow", "TriggerWorkflow", "Run a workflow on an object of the bucket",
           [query("workflowId", required=True), query("object", required=True)], answer={"InstanceId": STRING}),
        Op("GET", "/workflowexecution", "DescribeWorkflowExecutions", "A workflow's runs",
           [query("workflowId", required=True), query("states", description="comma list, or All"), ORDER,
            query("name"), *CREATED, *TOKEN_AND_SIZE],
           answer={"WorkflowExecutionList": many(RUN), "NextToken": STRING}),
        Op("GET", "/workflowexecution/{run_id}", "DescribeWorkflowExecution", "One run of a workflow, with its tasks",
           answer={"WorkflowExecution": RUN}),
    ]
    return ops


# The MPS actions: request model (None: a body of no fields) and the Response's own fields.
MPS_TASK = obj(("TaskId",), TaskId=STRING, TaskType=STRING, Status=STRING, CreateTime=STRING)
MPS_OPERATIONS: dict[str, tuple[type[BaseModel] | None, dict[str, Any]]] = {
    "ProcessMedia": (wire.ProcessMediaRequest, {"TaskId": STRING}),
    "DescribeTaskDetail": (mps.DescribeTaskDetailRequest, {"TaskType": STRING, "Status": STRING,
                                                           "WorkflowTask": {"type": "object"}}),
    "DescribeTasks": (mps.DescribeTasksRequest, {"TaskSet": many(MPS_TASK), "ScrollToken": {"type": ["string", "null"]},
                                                 "TotalCount": INTEGER}),
    "PullEvents": (mps.PullEventsRequest, {"EventSet": many({"type": "object"})}),
    "ConfirmEvents": (mps.ConfirmEventsRequest, {}),
    "ManageTask": (mps.ManageTaskRequest, {}),
    "EditMedia": (wire.EditMediaRequest, {"TaskId": STRING}),
    "DescribeMediaMetaData": (mps_metadata.DescribeMediaMetaDataRequest, {"MetaData": obj(
        ("Size", "Container", "Duration"), Size=INTEGER, Container=STRING, Duration={"type": "number"},
        Width=INTEGER, Height=INTEGER, Rotate=INTEGER, VideoStreamSet=many({"type": "object"}),
        AudioStreamSet=many({"type": "object"}))}),
    "CreateSchedule": (schedules.CreateScheduleRequest, {"ScheduleId": INTEGER}),
    "ModifySchedule": (schedules.ModifyScheduleRequest, {}),
    "EnableSchedule": (wire.ScheduleIdRequest, {}),
    "DisableSchedule": (wire.ScheduleIdRequest, {}),
    "DeleteSchedule": (wire.ScheduleIdRequest, {}),
    "DescribeSchedules": (schedules.DescribeSchedulesRequest, {"TotalCount": INTEGER, "ScheduleInfoSet": many(obj(
        ("ScheduleId", "ScheduleName", "Status"), ScheduleId=INTEGER, ScheduleName=STRING,
        Status={"type": "string", "enum": ["Enabled", "Disabled"]}))}),
    "ParseNotification": (wire.ParseNotificationRequest, {name: {} for name in mps.NOTIFICATION_FIELDS}),
    "CreateWorkflow": (wire.CreateWorkflowRequest, {"WorkflowId": INTEGER}),
    "ResetWorkflow": (wire.ResetWorkflowRequest, {}),
    "EnableWorkflow": (wire.WorkflowIdRequest, {}),
    "DisableWorkflow": (wire.WorkflowIdRequest, {}),
    "DeleteWorkflow": (wire.WorkflowIdRequest, {}),
    "DescribeWorkflows": (wire.DescribeWorkflowsRequest, {"TotalCount": INTEGER, "WorkflowInfoSet": many(obj(
        ("WorkflowId", "WorkflowName", "Status"), WorkflowId=INTEGER, WorkflowName=STRING,
        Status={"type": "string", "enum": ["Enabled", "Disabled"]}, Trigger={"type": "object"}))}),
    **{name: (model, answer) for name, (model, answer) in mps_templates.contract().items()},
}


# --------------------------------------------------------------------------- the document
def _schemas() -> dict[str, Any]:
    models = [JobsRequest, QueueUpdate, Workflow, *PARAMS.values(),
              *(model for model, _ in MPS_OPERATIONS.values() if model is not None)]
    _, top = models_json_schema([(model, "validation") for model in models], ref_template=REF)
    schemas = top.get("$defs", {})
    schemas["Error"] = ERROR
    return schemas


def _cos_responses(op: Op) -> dict[str, Any]:
    def error(description: str) -> dict[str, Any]:
        return {"description": description, "content": {XML: {"schema": {"$ref": REF.format(model="Error")}}}}

    if op.answer is None:
        ok: dict[str, Any] = {"description": "done; an empty body"}
    else:
        answer = obj(("RequestId",), RequestId=STRING, **op.answer) | {"xml": {"name": "Response"}}
        ok = {"description": "the <Response> document", "content": {XML: {"schema": answer}}}
        ok |= {"links": op.links} if op.links else {}
    return {"200": ok,
            "400": error("the request is malformed (InvalidArgument, InvalidContent, MissingContent); nothing written"),
            "403": error("unsigned, badly signed, expired or replayed, or the key lacks the permission (AccessDenied)"),
            "404": error("the resource does not exist (ResourceNotFound)"),
            "413": {"description": "the body is over API Gateway's 10 MB; refused before it is read",
                    "content": {JSON: {"schema": obj(message=STRING)}}},
            "500": error("an internal error (InternalError), with its request id")}


def _cos_operation(op: Op, schemas: dict[str, Any]) -> dict[str, Any]:
    path_params = [{"name": part[1:-1], "in": "path", "required": True, "schema": STRING}
                   for part in op.path.split("/") if part.startswith("{")]
    operation: dict[str, Any] = {
        "operationId": op.id, "summary": op.summary, "tags": ["COS CI (XML)"],
        "description": f"Permission: `{action_of(op.method, op.path)}` on the request's bucket.",
        "parameters": path_params + op.params, "security": [{"cosSignature": []}],
        "responses": _cos_responses(op)}
    if op.body:
        body = {"Jobs": lambda: {"$ref": REF.format(model="JobsRequest")},
                "Queue": lambda: {"$ref": REF.format(model="QueueUpdate")},
                "Workflow": lambda: workflow_request(schemas), "Template": lambda: template_request(schemas)}[op.body]()
        operation["requestBody"] = {"required": op.body_required, "content": {
            XML: {"schema": {"allOf": [body], "xml": {"name": "Request"}}}}}
    return operation


def _mps_operation(action: str, model: type[BaseModel] | None, fields: dict[str, Any]) -> dict[str, Any]:
    ok = obj(("Response",), Response=obj(("RequestId",), RequestId=STRING, **fields,
                                         Error=obj(("Code", "Message"), Code=STRING, Message=STRING)))
    body = {"$ref": REF.format(model=model.__name__)} if model else obj()
    return {
        "operationId": action, "summary": f"MPS {action}", "tags": ["MPS (JSON)"],
        "description": (f"Sent as `POST /` with `X-TC-Action: {action}` (the `#{action}` of the path is not sent). "
                        f"Permission: `{MPS_ACTIONS[action]}`. A refused request is HTTP 200 with `Response.Error`, "
                        "as TencentCloud API 3.0 answers; a bad signature or a missing permission is 403."),
        "parameters": [{"name": "X-TC-Action", "in": "header", "required": True,
                        "schema": {"type": "string", "enum": [action]}}],
        "requestBody": {"required": True, "content": {JSON: {"schema": body}}},
        "security": [{"tc3": []}],
        "responses": {"200": {"description": "Response, with Error when the request was refused",
                              "content": {JSON: {"schema": ok}}},
                      "403": {"description": "AuthFailure: unsigned, badly signed, replayed, or not permitted",
                              "content": {JSON: {"schema": ok}}},
                      "404": {"description": "no X-TC-Action header: not an MPS call, and the COS face has no POST /",
                              "content": {XML: {"schema": {"$ref": REF.format(model="Error")}}}},
                      "413": {"description": "the body is over API Gateway's 10 MB",
                              "content": {JSON: {"schema": obj(message=STRING)}}},
                      "500": {"description": "InternalError", "content": {JSON: {"schema": ok}}}}}


SECURITY_SCHEMES = {
    "cosSignature": {"type": "apiKey", "in": "header", "name": "Authorization", "description": (
        "COS request signature (q-sign-algorithm=sha1&q-ak=...&q-sign-time=...&q-key-time=...&q-header-list=..."
        "&q-url-param-list=...&q-signature=...), as cos-python-sdk-v5 makes it. The window is at most 24 h; "
        "a Host that names the bucket must be signed; a signature serves one request (docs/security.md).")},
    "tc3": {"type": "apiKey", "in": "header", "name": "Authorization", "description": (
        "TencentCloud API 3.0 signature (TC3-HMAC-SHA256) with X-TC-Timestamp, as tencentcloud-sdk-python makes it.")},
}


def document(version: str) -> dict[str, Any]:
    schemas = _schemas()
    paths: dict[str, dict[str, Any]] = {}
    for op in cos_operations():
        paths.setdefault(op.path, {})[op.method.lower()] = _cos_operation(op, schemas)
    for action, (model, fields) in MPS_OPERATIONS.items():
        paths[f"/#{action}"] = {"post": _mps_operation(action, model, fields)}
    return {
        "openapi": "3.1.0",
        "info": {"title": "mediaflow", "version": version, "description": (
            "COS CI-style media processing (XML face, paths below; the bucket is the Host's first label or "
            "/buckets/<bucket>/...) and an MPS-style JSON face (POST / with X-TC-Action; one operation per action). "
            "Rendered at /docs.")},
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": SECURITY_SCHEMES},
    }
