"""Workflows: the Tencent MediaWorkflow shape (Topology of Dependencies + Nodes), stored per bucket,
and the rules that decide whether an uploaded object triggers one."""

from __future__ import annotations

import posixpath
from datetime import datetime
from typing import Any, Literal

import xmltodict
from pydantic import ValidationError, field_validator

from . import ids, store
from .exceptions import InvalidInputError
from .models import Model, NotifyConfig
from .templates import build_operation
from .times import now

VIDEO_EXTS = frozenset(
    "mp4 avi mkv wmv rmvb rm flv mov m4v 3gp 3g2 ts mts m2ts m3u8 webm mpg mpeg mxf vob ogv f4v asf".split()
)
AUDIO_EXTS = frozenset("mp3 wav aac flac amr m4a wma ogg opus ape aiff ac3".split())
IMAGE_EXTS = frozenset("jpg jpeg png bmp gif webp tif tiff heic heif avif".split())
PROCESSING_NODES = frozenset({"Transcode", "Snapshot"})  # node types this build runs


def _true(value: Any) -> bool:
    return str(value).strip().lower() == "true"


class ExtFilter(Model):
    State: Literal["On", "Off"] = "Off"
    Video: bool = False
    Audio: bool = False
    Image: bool = False
    ContentType: bool = False
    Custom: bool = False
    CustomExts: str | None = None
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
    QueueId: str | None = None
    ObjectPrefix: str = ""
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


class Topology(Model):
    Dependencies: dict[str, str]
    Nodes: dict[str, Node]

    def successors(self, name: str) -> list[str]:
        return [n.strip() for n in (self.Dependencies.get(name) or "").split(",") if n.strip() and n.strip() != "End"]

    def ordered_nodes(self) -> list[str]:
        """Processing nodes in dependency order (Kahn's algorithm from Start); rejects cycles."""
        indegree = {name: 0 for name in self.Nodes}
        for name in self.Nodes:
            for successor in self.successors(name):
                if successor not in indegree or successor == "Start":
                    raise InvalidInputError(f"Dependencies name node {successor!r}, which is not a processing node")
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
            raise InvalidInputError("Topology has a cycle or nodes that Start does not reach")
        return order[1:]


_Topology = Topology  # the field below shares the type's name


class Workflow(Model):
    WorkflowId: str
    Name: str
    State: Literal["Active", "Paused"] = "Active"
    BucketId: str
    CreateTime: datetime
    UpdateTime: datetime
    Topology: _Topology

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


def create_workflow(bucket: str, spec: dict[str, Any]) -> Workflow:
    """Validate and store a workflow bound to `bucket`. `spec` is a parsed MediaWorkflow element."""
    created = now()
    try:
        workflow = Workflow.model_validate(
            {**spec, "WorkflowId": ids.new_id(ids.WORKFLOW), "BucketId": bucket, "CreateTime": created, "UpdateTime": created}
        )
    except ValidationError as error:
        raise InvalidInputError(f"invalid MediaWorkflow: {error}") from error
    if "Start" not in workflow.Topology.Nodes or workflow.Topology.Nodes["Start"].Type != "Start":
        raise InvalidInputError("Topology.Nodes must have exactly one Start node")
    for name in workflow.Topology.ordered_nodes():
        node = workflow.Topology.Nodes[name]
        if node.Type not in PROCESSING_NODES:
            raise InvalidInputError(f"node {name}: Type {node.Type!r} is not supported (supported: {sorted(PROCESSING_NODES)})")
        output = (node.Operation or {}).get("Output") or {}
        if not output.get("Object"):
            raise InvalidInputError(f"node {name}: Operation.Output.Object is required")
        if node.Type == "Snapshot" and "${number}" not in output["Object"].lower():
            raise InvalidInputError(f"node {name}: a Snapshot's Output.Object must contain ${{Number}}")
        try:  # parameters are checked now, not at the first upload
            build_operation(node.Type, node.Operation or {}, default_bucket=bucket, default_region="-")
        except InvalidInputError as error:
            raise InvalidInputError(f"node {name}: {error.message}") from error
    store.put_new(*workflow_key(workflow.WorkflowId), workflow, gsi1pk=f"BUCKET#{bucket}#WORKFLOW", gsi1sk=workflow.WorkflowId)
    return workflow


def workflows_for(bucket: str) -> list[Workflow]:
    return store.query_index(f"BUCKET#{bucket}#WORKFLOW", Workflow)


def matching_workflows(bucket: str, key: str) -> list[Workflow]:
    return [w for w in workflows_for(bucket) if w.matches(key)]
