"""Workflows: the Tencent MediaWorkflow shape (Topology of Dependencies + Nodes), stored per bucket,
and the rules that decide whether an uploaded object triggers one."""

from __future__ import annotations

import posixpath
import re
import secrets
from datetime import datetime
from typing import Any, Literal

import xmltodict
from pydantic import Field, ValidationError, field_validator

from .. import ids
from ..exceptions import InvalidInputError, NotFoundError
from ..models import MAX_KEY, Model, NotifyConfig
from ..notify.targets import check_target
from ..persistence import store
from ..shapes.mps import SubtaskRef, TaskInfo
from ..times import now
from . import buckets
from .templates import JOB_TAGS, build_operation

VIDEO_EXTS = frozenset(
    "mp4 avi mkv wmv rmvb rm flv mov m4v 3gp 3g2 ts mts m2ts m3u8 webm mpg mpeg mxf vob ogv f4v asf".split()
)
AUDIO_EXTS = frozenset("mp3 wav aac flac amr m4a wma ogg opus ape aiff ac3".split())
IMAGE_EXTS = frozenset("jpg jpeg png bmp gif webp tif tiff heic heif avif".split())
MPS_WORKFLOWS = "MPS#WORKFLOWS"  # the gsi2 partition of the workflows made on the MPS face
NAME = re.compile(r"^[\w\-\u4e00-\u9fff]{1,128}$")
PROCESSING_NODES = frozenset(JOB_TAGS)  # node types this build runs


def _true(value: Any) -> bool:
    return str(value).strip().lower() == "true"


class ExtFilter(Model):
    State: Literal["On", "Off"] = "Off"
    Video: bool = False
    Audio: bool = False
    Image: bool = False
    ContentType: bool = False
    Custom: bool = False
    CustomExts: str | None = Field(None, max_length=1024)
    AllFile: bool = False

    _bools = field_validator("Video", "Audio", "Image", "ContentType", "Custom", "AllFile", mode="before")(_true)

    def allows(self, key: str) -> bool:
        if self.State == "Off" or self.AllFile:
            return True
        ext = posixpath.splitext(key)[1].lstrip(".").lower()  # MOV is mov
        custom = {e.strip().lower().lstrip(".") for e in (self.CustomExts or "").split("/") if e.strip()}
        return (
            (self.Video and ext in VIDEO_EXTS)
            or (self.Audio and ext in AUDIO_EXTS)
            or (self.Image and ext in IMAGE_EXTS)
            or (self.ContentType and ext in VIDEO_EXTS | AUDIO_EXTS | IMAGE_EXTS)
            or (self.Custom and ext in custom)
        )


class StartInput(Model):
    QueueId: str | None = Field(None, max_length=64)
    ObjectPrefix: str = Field("", max_length=MAX_KEY)
    NotifyConfig: Any = None
    ExtFilter: Any = None

    @field_validator("ObjectPrefix", mode="before")
    @classmethod
    def _prefix(cls, value: Any) -> str:
        return value or ""

    @property
    def notify(self) -> NotifyConfig | None:
        return NotifyConfig.model_validate(self.NotifyConfig) if self.NotifyConfig else None

    @property
    def ext_filter(self) -> ExtFilter:
        return ExtFilter.model_validate(self.ExtFilter or {})


class Node(Model):
    Type: str
    Input: StartInput | None = None
    Operation: dict[str, Any] | None = None


# What may follow what, among the node types this build runs (the reference's successor table).
SUCCESSORS = {"Start": PROCESSING_NODES,
              "Transcode": frozenset({"Snapshot", "Animation", "Segment", "MediaInfo", "SpeechRecognition"}),
              "Concat": frozenset({"Transcode", "Snapshot", "Animation", "Segment", "MediaInfo", "SpeechRecognition"}),
              **{tag: frozenset() for tag in ("Snapshot", "Animation", "Segment", "MediaInfo", "SpeechRecognition",
                                              "DocProcess")}}


class Topology(Model):
    Dependencies: dict[str, str]
    Nodes: dict[str, Node]

    @field_validator("Dependencies", mode="before")
    @classmethod
    def _names(cls, value: Any) -> Any:
        return {k: v or "" for k, v in value.items()} if isinstance(value, dict) else value

    def successors(self, name: str) -> list[str]:
        return [n.strip() for n in (self.Dependencies.get(name) or "").split(",") if n.strip() and n.strip() != "End"]

    def ordered_nodes(self) -> list[str]:
        """Processing nodes in dependency order (Kahn's algorithm from Start); rejects cycles."""
        indegree = {name: 0 for name in self.Nodes}
        for name in self.Nodes:
            for successor in self.successors(name):
                if successor not in indegree or successor == "Start":
                    raise InvalidInputError(f"Topology.Dependencies: {successor!r} is not a processing node of Topology.Nodes")
                indegree[successor] += 1
        order: list[str] = []
        ready = ["Start"]
        while ready:
            name = ready.pop(0)
            order.append(name)
            for successor in self.successors(name):
                indegree[successor] -= 1
                if indegree[successor] == 0:
                    ready.append(successor)
        if len(order) != len(indegree):
            raise InvalidInputError("Topology: it has a cycle or nodes that Start does not reach")
        return order[1:]

    def predecessor(self, name: str) -> str | None:
        """The node whose output a node works on (None: the uploaded object)."""
        before = [n for n in self.Dependencies if name in self.successors(n)]
        return None if before == ["Start"] else before[0]

    def stages(self) -> dict[str, int]:
        """Each processing node's stage: nodes of one stage run in parallel, after the stage before."""
        stage: dict[str, int] = {}
        for name in self.ordered_nodes():
            before = self.predecessor(name)
            stage[name] = 0 if before is None else stage[before] + 1
        return stage

    def check(self) -> None:
        """Dependencies must form a tree from Start whose every branch reaches End."""
        if "Start" not in self.Nodes or self.Nodes["Start"].Type != "Start":
            raise InvalidInputError("Topology.Nodes: there must be exactly one node named Start, of Type Start")
        for name in self.Dependencies:
            if name not in self.Nodes:
                raise InvalidInputError(f"Topology.Dependencies: {name!r} is not a node of Topology.Nodes")
        for name, node in self.Nodes.items():
            if name != "Start" and node.Type == "Start":
                raise InvalidInputError(f"Topology.Nodes.{name}: only the Start node may be of Type Start")
            targets = [n.strip() for n in (self.Dependencies.get(name) or "").split(",") if n.strip()]
            if not targets:
                raise InvalidInputError(f"Topology.Dependencies.{name}: every node needs successors (another node or End)")
            if name != "Start" and not name.startswith(node.Type + "_"):
                raise InvalidInputError(f"Topology.Nodes.{name}: a node's name is its Type, '_' and a suffix")
        for name in self.ordered_nodes():
            before = [n for n in self.Dependencies if name in self.successors(n)]
            if len(before) > 1:
                raise InvalidInputError(f"Topology.Dependencies: {name} follows {' and '.join(before)}; a node follows one node")
            node, parent = self.Nodes[name], self.Nodes[before[0]].Type
            if node.Type not in PROCESSING_NODES:
                raise InvalidInputError(f"Topology.Nodes.{name}: Type {node.Type!r} is not supported (supported: {', '.join(sorted(PROCESSING_NODES))})")
            if node.Type not in SUCCESSORS[parent]:
                raise InvalidInputError(f"Topology.Dependencies: a {node.Type} node cannot follow a {parent} node")


_Topology = Topology  # the field below shares the type's name


class MpsFlow(Model):
    """What a workflow created on the MPS face adds to its record: each of its runs is an MPS task
    (`faces/mps/workflows.py` plans it; `pipeline.dispatch.start_run` starts it)."""

    Kind: Literal["Workflow", "Schedule"] = "Workflow"  # CreateWorkflow's, or CreateSchedule's (a task flow)
    Request: dict[str, Any]  # the create request's fields as validated, secrets left out (for Describe)
    InputType: Literal["COS", "AWS-S3"]
    Region: str
    Refs: dict[str, SubtaskRef]  # node name -> the subtask it runs
    Priority: int = 0
    Notify: NotifyConfig | None = None
    NotifyInfo: dict[str, Any] | None = None  # TaskNotifyConfig as given, without NotifyKey
    NotifyKey: str | None = None

    def task(self, task_id: str, bucket: str, key: str, job_ids: dict[str, str]) -> dict[str, Any]:
        """The run's TaskInfo (as ProcessMedia stores it), its input the uploaded object."""
        where = ({"CosInputInfo": {"Bucket": bucket, "Region": self.Region, "Object": "/" + key}}
                 if self.InputType == "COS" else
                 {"S3InputInfo": {"S3Bucket": bucket, "S3Region": self.Region, "S3Object": "/" + key}})
        return TaskInfo(TaskId=task_id, InputInfo={"Type": self.InputType, **where}, TasksPriority=self.Priority,
                        TaskNotifyConfig=self.NotifyInfo, NotifyKey=self.NotifyKey,
                        TaskType="ScheduleTask" if self.Kind == "Schedule" else "WorkflowTask",
                        Subtasks={job_ids[name]: ref for name, ref in self.Refs.items()}).model_dump(mode="json")


class Workflow(Model):
    WorkflowId: str
    Name: str
    State: Literal["Active", "Paused"] = "Active"
    BucketId: str
    CreateTime: datetime
    UpdateTime: datetime
    Topology: _Topology
    Mps: MpsFlow | None = None  # created on the MPS face: runs are MPS tasks

    @property
    def start(self) -> StartInput:
        return self.Topology.Nodes["Start"].Input or StartInput()

    def matches(self, key: str) -> bool:
        start = self.start
        return self.State == "Active" and key.startswith(start.ObjectPrefix) and start.ext_filter.allows(key)


def workflow_key(workflow_id: str) -> tuple[str, str]:
    return f"WORKFLOW#{workflow_id}", "WORKFLOW"


def parse_workflow_xml(body: str | bytes) -> dict[str, Any]:
    """The <Request><MediaWorkflow>...</MediaWorkflow></Request> body of CreateMediaWorkflow."""
    try:
        request = xmltodict.parse(body)
    except Exception as error:
        raise InvalidInputError(f"the request body is not valid XML: {error}") from error
    workflow = (request.get("Request") or {}).get("MediaWorkflow")
    if not isinstance(workflow, dict):
        raise InvalidInputError("the request has no Request/MediaWorkflow element")
    return workflow


def _validated(bucket: str, spec: Any, *, workflow_id: str, created: datetime, mps: MpsFlow | None = None) -> Workflow:
    """A MediaWorkflow element checked as a whole: graph, nodes, templates and parameters."""
    if not isinstance(spec, dict):
        raise InvalidInputError("MediaWorkflow: the element is required, with Name and Topology", code="InvalidContent")
    try:
        workflow = Workflow.model_validate(
            {"State": "Active", **spec, "WorkflowId": workflow_id, "BucketId": bucket, "CreateTime": created,
             "UpdateTime": now(), "Mps": mps}
        )
    except ValidationError as error:
        first = error.errors()[0]
        raise InvalidInputError(f"MediaWorkflow.{'.'.join(str(p) for p in first['loc'])}: {first['msg']}") from error
    if not NAME.match(workflow.Name):
        raise InvalidInputError("MediaWorkflow.Name: up to 128 letters, digits, '-' or '_'")
    workflow.Topology.check()
    queue_id = workflow.start.QueueId
    if queue_id and queue_id != ids.stable_id(ids.QUEUE, bucket, "media"):
        raise InvalidInputError(f"Topology.Nodes.Start.Input.QueueId: {queue_id} is not the media queue of bucket {bucket}")
    try:
        if workflow.start.notify:  # parsed now so that a bad rule is refused now
            check_target(workflow.start.notify)
        workflow.start.ext_filter  # noqa: B018
    except ValidationError as error:
        raise InvalidInputError(f"Topology.Nodes.Start.Input: {error.errors()[0]['msg']}") from error
    output_buckets = {}
    for name in workflow.Topology.ordered_nodes():
        node = workflow.Topology.Nodes[name]
        output = (node.Operation or {}).get("Output") or {}
        if not isinstance(output, dict):
            raise InvalidInputError(f"Topology.Nodes.{name}.Operation.Output must be an element")
        if isinstance(output.get("Bucket"), str) and output["Bucket"]:
            output_buckets.setdefault(output["Bucket"], f"Topology.Nodes.{name}.Operation.Output.Bucket")
        try:  # parameters are checked now, not at the first upload
            build_operation(node.Type, node.Operation or {}, default_bucket=bucket, default_region="-")
        except InvalidInputError as error:
            raise InvalidInputError(f"Topology.Nodes.{name}.Operation: {error.message}") from error
    # Buckets last: a workflow that is wrong in itself is refused for that, with no call to AWS.
    buckets.require_served(bucket, "the workflow's bucket", uploads=True)
    for output_bucket, where in output_buckets.items():
        buckets.require_served(output_bucket, where)
    return workflow


def create_workflow(bucket: str, spec: Any, *, mps: MpsFlow | None = None) -> Workflow:
    """Validate and store a workflow bound to `bucket`. `spec` is a parsed MediaWorkflow element; `mps`
    makes it an MPS workflow, with a numeric id (as MPS's are) and listed for DescribeWorkflows."""
    workflow = _validated(bucket, spec, workflow_id=ids.new_id(ids.WORKFLOW), created=now(), mps=mps)
    listing = {"gsi1pk": f"BUCKET#{bucket}#WORKFLOW"}
    while True:
        if mps is not None:
            workflow.WorkflowId = str(secrets.randbelow(9 * 10**9) + 10**9)
            listing |= {"gsi2pk": MPS_WORKFLOWS, "gsi2sk": workflow.WorkflowId}
        if store.put_new(*workflow_key(workflow.WorkflowId), workflow, **listing, gsi1sk=workflow.WorkflowId):
            return workflow
        if mps is None:
            raise InvalidInputError(f"WorkflowId {workflow.WorkflowId} exists")  # a 128-bit id: never


def get_workflow(bucket: str, workflow_id: str) -> Workflow:
    found = store.get(*workflow_key(workflow_id), Workflow)
    if found is None or found[0].BucketId != bucket:
        raise NotFoundError(f"WorkflowId {workflow_id} does not exist")
    return found[0]


def update_workflow(bucket: str, workflow_id: str, spec: Any, *, mps: MpsFlow | None = None) -> Workflow:
    existing = get_workflow(bucket, workflow_id)
    if (existing.Mps is None) != (mps is None):
        face = "MPS (ResetWorkflow)" if existing.Mps else "COS (UpdateMediaWorkflow)"
        raise InvalidInputError(f"workflow {workflow_id} is changed on the {face} face, where it was created")
    if isinstance(spec, dict):
        spec = {"State": existing.State, **spec}  # an update that names no State keeps the current one
    workflow = _validated(bucket, spec, workflow_id=workflow_id, created=existing.CreateTime, mps=mps)

    def change(doc: Workflow) -> None:
        doc.Name, doc.State, doc.Topology, doc.UpdateTime = workflow.Name, workflow.State, workflow.Topology, workflow.UpdateTime
        doc.Mps = workflow.Mps

    return store.mutate(*workflow_key(workflow_id), Workflow, change)


def set_workflow_state(bucket: str, workflow_id: str, state: Literal["Active", "Paused"]) -> Workflow:
    get_workflow(bucket, workflow_id)

    def change(doc: Workflow) -> None:
        doc.State, doc.UpdateTime = state, now()

    return store.mutate(*workflow_key(workflow_id), Workflow, change)


def delete_workflow(bucket: str, workflow_id: str) -> None:
    get_workflow(bucket, workflow_id)
    store.delete(*workflow_key(workflow_id))


def list_workflows(bucket: str, *, ids_: list[str] | None = None, name: str | None = None) -> list[Workflow]:
    found = sorted(workflows_for(bucket), key=lambda w: w.CreateTime)
    return [w for w in found if (not ids_ or w.WorkflowId in ids_) and (not name or w.Name.startswith(name))]


def template_users(bucket: str, template_id: str) -> list[str]:
    """The workflows of a bucket whose nodes name a template."""
    return [w.WorkflowId for w in workflows_for(bucket)
            if any((n.Operation or {}).get("TemplateId") == template_id for n in w.Topology.Nodes.values())]


def mps_workflows(kind: str = "Workflow") -> list[Workflow]:
    """Every workflow (or schedule) created on the MPS face, oldest first."""
    return [w for w in store.query_index(MPS_WORKFLOWS, Workflow, index="gsi2") if w.Mps and w.Mps.Kind == kind]


def workflows_for(bucket: str) -> list[Workflow]:
    return store.query_index(f"BUCKET#{bucket}#WORKFLOW", Workflow)


def matching_workflows(bucket: str, key: str) -> list[Workflow]:
    return [w for w in workflows_for(bucket) if w.matches(key)]
