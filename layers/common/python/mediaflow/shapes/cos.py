"""Rendering records in the COS CI shapes (XML by default, JSON on request), with xmltodict.

Every XML document the service writes (answers, errors, XML notifications) is made by `document`,
which keeps it well-formed whatever the values hold. XML 1.0 cannot carry some characters at all,
escaped or not: the C0 controls other than tab, line feed and carriage return, U+FFFE, U+FFFF and
lone surrogates. Anyone who may upload can put them in an object key, and keys are echoed in job
and run listings. As COS does with ``EncodingType=url``, such a character is written
percent-encoded: each byte of its UTF-8 form as ``%XX`` (a lone surrogate as the three bytes it
would take), so a key ``clip`` + U+0001 + ``.mp4`` reads ``clip%01.mp4``. A carriage return is
encoded too (``%0D``): XML may carry it, but parsers read it back as a line feed. Only those
characters are encoded: every other value reads exactly as stored (``<``, ``&`` and ``>`` are
escaped by the XML writer as usual), at the cost that a literal ``%01`` and an encoded U+0001
read alike. JSON can carry every character and is written as it is.
"""

from __future__ import annotations

import json
import re
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


# What XML 1.0's Char production leaves out (tab and LF are in, as is everything else), and CR,
# which parsers read back as LF.
NOT_XML = re.compile("[\x00-\x08\x0b-\x1f\ud800-\udfff\ufffe\uffff]")


def _percent(match: re.Match[str]) -> str:
    return "".join(f"%{byte:02X}" for byte in match.group().encode("utf-8", "surrogatepass"))


def xml_text(value: str) -> str:
    """`value` with each character XML 1.0 cannot carry percent-encoded (see the module's note)."""
    return NOT_XML.sub(_percent, value)


def _xml_safe(value: Any) -> Any:
    """Every string of a tree (element names and values) made XML-safe with `xml_text`."""
    if isinstance(value, str):
        return xml_text(value)
    if isinstance(value, dict):
        return {xml_text(k) if isinstance(k, str) else k: _xml_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_xml_safe(v) for v in value]
    return value


def document(root: str, content: dict[str, Any]) -> str:
    """An XML document of `content` under `root`, well-formed whatever its strings hold."""
    return xmltodict.unparse({root: _xml_safe(content)}, full_document=True, short_empty_elements=False)


def render(response: dict[str, Any], fmt: Format = "XML") -> str:
    """A <Response> document (or its JSON twin, without the root)."""
    if fmt == "JSON":
        return json.dumps(response, ensure_ascii=False)
    return document("Response", response)


def parse(body: str | bytes) -> dict[str, Any]:
    return xmltodict.parse(body)
