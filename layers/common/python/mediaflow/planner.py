"""Plan one stage of an execution: find each job's input (the upload, or the output of the node it
follows), probe it once, resolve the job's parameters and cut it into task units."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from . import naming, storage
from .exceptions import MediaError
from .jobs import get_execution, get_job, jobs_of, start_job, update_execution, update_job
from .media import MediaInfo, SnapshotParams, probe
from .models import FINAL_STATES, Execution, Job, ObjectRef, UnitSpec
from .tasks import import_input
from .templates import operation_params
from .times import now

PROBE_TIMEOUT = 60
KINDS = {"Transcode": "transcode", "Snapshot": "snapshot", "Animation": "animation"}


def units_for(job: Job, execution: Execution, source: ObjectRef, info: MediaInfo) -> list[UnitSpec]:
    operation = job.Operation
    params = operation_params(operation)
    snapshot = isinstance(params, SnapshotParams)
    ext = params.Format if snapshot else params.extension

    def name(template: str, ext: str = ext) -> str:  # variables name the workflow's input, whatever this node reads
        return naming.expand(template, input_key=job.Input.Object, run_id=execution.id, job_id=job.JobId,
                             ext=ext, keep_number=snapshot)

    bucket = operation.Output.Bucket or ""
    sprite = operation.Output.SpriteObject
    return [
        UnitSpec(
            execution_id=execution.id, job_id=job.JobId, kind=KINDS[job.Tag], input=source,
            output=ObjectRef(bucket=bucket, key=name(operation.Output.Object)),
            sprite_output=ObjectRef(bucket=bucket, key=name(sprite, "jpg")) if snapshot and sprite else None,  # sheets are JPEG
            params=params.model_dump(mode="json", exclude_none=True), duration=info.duration,
        )
    ]


def source_of(job: Job) -> ObjectRef | str:
    """Where a job reads from: the upload, or the first output of the job it follows.
    A string says why there is nothing to read (the job it follows did not succeed)."""
    if job.after is None:
        return ObjectRef(bucket=job.Input.BucketId, key=job.Input.Object)
    before = get_job(job.after)
    result = (before.Operation.MediaResult or {}).get("OutputFile") if before else None
    if before is None or before.State != "Success" or not result or not result.get("ObjectName"):
        node = before.Workflow.Name if before and before.Workflow else job.after
        return f"not run: {node}, whose output it takes, did not succeed"
    return ObjectRef(bucket=result["Bucket"], key=result["ObjectName"][0])


def _probe(source: ObjectRef) -> MediaInfo:
    with tempfile.TemporaryDirectory() as workdir:
        local = storage.download(source.bucket, source.key, Path(workdir))
        info = probe(str(local), timeout=PROBE_TIMEOUT)
    if info.duration <= 0:
        raise MediaError(f"{source.key} has no duration: not a playable media file")
    return info


def _skip(job_id: str, message: str) -> None:
    def skipped(job: Job) -> None:
        if job.State not in FINAL_STATES:
            job.State, job.Code, job.Message, job.EndTime = "Failed", "PredecessorFailed", message, now()

    update_job(job_id, skipped)


def reports_changes(execution: Execution) -> bool:
    """A ProcessMedia task whose TaskNotifyConfig asks for an event as each subtask ends."""
    return ((execution.task or {}).get("TaskNotifyConfig") or {}).get("NotifyMode") == "Change"


def plan(execution_id: str, stage: int = 0) -> dict[str, Any]:
    execution = get_execution(execution_id)
    if stage == 0:
        import_input(execution)  # a ProcessMedia task's URL input
    probed: dict[tuple[str, str], MediaInfo] = {}
    units: list[UnitSpec] = []
    for job in (j for j in jobs_of(execution) if j.stage == stage and j.State not in FINAL_STATES):
        source = source_of(job)
        if isinstance(source, str):
            _skip(job.JobId, source)
            continue
        if stage:
            start_job(job.JobId, now())
        where = (source.bucket, source.key)
        if where not in probed:
            probed[where] = _probe(source)
        job_units = units_for(job, execution, source, probed[where])
        for index, unit in enumerate(job_units):
            unit.index, unit.units_of_job = index, len(job_units)
            # a subtask of one unit ends with it; one of several is reported when its stage ends
            unit.report = len(job_units) == 1 and reports_changes(execution)
        units += job_units

    def planned(doc: Execution) -> None:
        doc.stage_units[stage] = len(units)  # by stage, so that a retried Plan counts once
        doc.units_total = sum(doc.stage_units.values())

    update_execution(execution_id, planned)
    next_stage = stage + 1 if stage + 1 < execution.stages else -1
    return {"units": [u.model_dump(mode="json") for u in units], "next_stage": next_stage}
