"""Rendering records in the COS CI shapes (XML by default, JSON on request), with xmltodict."""

from __future__ import annotations

import json
from typing import Any, Literal

import xmltodict

from ..models import Execution, Job
from ..times import ci_time

Format = Literal["XML", "JSON"]


def _clean(value: Any) -> Any:
    """Drop None values so that absent elements are absent, not empty; stringify scalars for XML."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_clean(v) for v in value if v is not None]
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def jobs_detail(job: Job) -> dict[str, Any]:
    """The JobsDetail element, in the reference's element order."""
    operation = job.Operation
    detail: dict[str, Any] = {
        "Code": job.Code,
        "Message": job.Message,
        "JobId": job.JobId,
        "Tag": job.Tag,
        "State": job.State,
        "Progress": job.Progress,
        "CreationTime": ci_time(job.CreationTime),
        "StartTime": ci_time(job.StartTime),
        "EndTime": ci_time(job.EndTime),
        "QueueId": job.QueueId,
        "Input": {
            "BucketId": job.Input.BucketId,
            "Object": job.Input.Object,
            "Region": job.Input.Region,
            **({"CosHeaders": [h.model_dump() for h in job.Input.CosHeaders]} if job.Workflow else {}),
        },
        "Operation": {
            "TemplateId": operation.TemplateId,
            "TemplateName": operation.TemplateName,
            **({"Transcode": operation.Transcode.model_dump(exclude_none=True)} if operation.Transcode and not operation.TemplateId else {}),
            **({"Snapshot": operation.Snapshot.model_dump(exclude_none=True)} if operation.Snapshot and not operation.TemplateId else {}),
            **({"SpeechRecognition": operation.SpeechRecognition.model_dump(exclude_none=True)}
               if operation.SpeechRecognition and not operation.TemplateId else {}),
            **({"DocProcess": operation.DocProcess.model_dump(exclude_none=True, exclude={"DocPassword"})}
               if operation.DocProcess else {}),
            "Output": operation.Output.model_dump(exclude_none=True),
            "UserData": operation.UserData,
            "JobLevel": operation.JobLevel,
            "MediaInfo": operation.MediaInfo,
            "MediaResult": operation.MediaResult,
            "SpeechRecognitionResult": operation.SpeechRecognitionResult,
            "DocProcessResult": operation.DocProcessResult,
        },
    }
    if job.Workflow:
        detail["Workflow"] = job.Workflow.model_dump()
    return _clean(detail)


def workflow_execution(execution: Execution, jobs: list[Job]) -> dict[str, Any]:
    """The WorkflowExecution element of a run, with one Tasks entry per node job."""
    first = jobs[0] if jobs else None
    return _clean(
        {
            "RunId": execution.id,
            "BucketId": execution.bucket,
            "Object": execution.object,
            "CosHeaders": [h.model_dump() for h in first.Input.CosHeaders] if first else None,
            "WorkflowId": execution.workflow_id,
            "WorkflowName": execution.workflow_name,
            "CreateTime": ci_time(execution.created),
            "State": execution.state,
            "Tasks": [
                {
                    "Type": job.Tag,
                    "CreateTime": ci_time(job.CreationTime),
                    "StartTime": ci_time(job.StartTime),
                    "EndTime": ci_time(job.EndTime),
                    "State": job.State,
                    "JobId": job.JobId,
                    "Name": job.Workflow.Name if job.Workflow else job.Tag,
                    "TemplateId": job.Operation.TemplateId,
                    "TemplateName": job.Operation.TemplateName,
                    "Code": job.Code,
                    "Message": job.Message,
                }
                for job in jobs
            ],
        }
    )


def render(response: dict[str, Any], fmt: Format = "XML") -> str:
    """A <Response> document (or its JSON twin, without the root)."""
    if fmt == "JSON":
        return json.dumps(response, ensure_ascii=False)
    return xmltodict.unparse({"Response": response}, full_document=True, short_empty_elements=False)


def parse(body: str | bytes) -> dict[str, Any]:
    return xmltodict.parse(body)
