"""Plan one stage of an execution: find each job's input (the upload, or the output of the node it
follows), probe it once, resolve the job's parameters and cut it into task units."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from .. import naming
from ..control.guardrails import check_input, check_outputs, expected_outputs
from ..control.jobs import (
    get_execution,
    get_job,
    jobs_of,
    start_job,
    update_execution,
    update_job,
)
from ..control.queues import get_queue
from ..control.templates import NUMBERED_TAGS, operation_params
from ..docs import DocParams
from ..exceptions import LimitExceededError, MediaError, MediaflowError
from ..media import MediaInfo, SnapshotParams, TranscodeParams
from ..media.params import ConcatParams, SegmentParams, concat_order
from ..media.probe import probe_input
from ..models import (
    FINAL_STATES,
    JOIN_KINDS,
    Execution,
    Job,
    ObjectRef,
    Queue,
    UnitSpec,
)
from ..persistence import storage, unitstore
from ..speech import SpeechParams
from ..times import now
from . import doc_jobs, speech_jobs, split
from .url_import import import_input

PROBE_TIMEOUT = 60
# Task units (with joins) of one stage, and of all stages of one execution. Step Functions carries
# only unit numbers (see unitstore), so the state stays small: 1,000 numbers are under 5 KB. What
# these bound is the execution's history, which stops at 25,000 events: an inline Map writes about
# 11 events per unit, so two full stages (22,000) still fit. A job that would go over is refused
# at Plan (InvalidInput.LimitExceeded); the other jobs of its stage run.
MAX_STAGE_UNITS = 1000
MAX_EXECUTION_UNITS = 2000
KINDS = {"Transcode": "transcode", "Snapshot": "snapshot", "Animation": "animation", "Segment": "segment",
         "Concat": "concat", "MediaInfo": "mediainfo", "SpeechRecognition": "speech", "DocProcess": "doc"}


class Inputs:
    """The inputs of one Plan step, each downloaded (and media probed) once, kept for the step's
    duration (a long transcode is cut from the local copy). A broken input fails every job reading it
    with the same reason."""

    def __init__(self, workdir: Path):
        self.workdir, self.files, self.probes = workdir, {}, {}

    def fetch(self, source: ObjectRef) -> Path:
        where = (source.bucket, source.key)
        if where not in self.files:
            folder = self.workdir / f"input-{len(self.files)}"
            folder.mkdir()
            try:
                self.files[where] = storage.download(source.bucket, source.key, folder)
            except Exception as error:
                self.files[where] = error
        return _found(self.files[where])

    def get(self, source: ObjectRef) -> tuple[Path, MediaInfo, int]:
        where = (source.bucket, source.key)
        if where not in self.probes:
            try:
                local = self.fetch(source)
                self.probes[where] = (local, probe_input(str(local), timeout=PROBE_TIMEOUT), local.stat().st_size)
            except Exception as error:
                self.probes[where] = error
        return _found(self.probes[where])


def _found(value: Any) -> Any:
    if isinstance(value, Exception):
        raise value
    return value


def _extension(params: Any) -> str:
    if isinstance(params, SnapshotParams):
        return params.Format
    if isinstance(params, SegmentParams):
        return "m3u8" if params.Format == "hls" else params.Format
    if isinstance(params, ConcatParams):
        return params.as_transcode().extension
    if isinstance(params, SpeechParams):
        return params.OutputFileType
    return getattr(params, "extension", "")


def _image(url: str, bucket: str) -> ObjectRef:
    """A watermark image: an object of the input's bucket, or one the stack keeps (an MPS template's)."""
    asset = storage.asset_key(url)
    return ObjectRef(bucket=os.environ["OUTPUT_BUCKET"], key=asset) if asset else ObjectRef(
        bucket=bucket, key=storage.object_key(url, bucket))


def units_for(job: Job, execution: Execution, source: ObjectRef, inputs: Inputs, queue: Queue) -> list[UnitSpec]:
    """The task units of one job, after the queue's limits are checked against its probed input.
    A long transcode is cut here into pieces, and comes back as piece units, an audio unit and a join."""
    operation = job.Operation
    params = operation_params(job.Tag, operation)
    if isinstance(params, DocParams):
        return _doc_units(job, params, execution, source, inputs, queue)
    local, info, size = inputs.get(source)
    check_input(queue, size, info)
    if job.Tag != "MediaInfo" and info.duration <= 0:
        raise MediaError(f"{source.key} has no duration: not a playable media file")
    check_outputs(queue, expected_outputs(job.Tag, params, info))
    numbered = job.Tag in NUMBERED_TAGS

    def name(template: str, ext: str = _extension(params)) -> str:  # variables name the workflow's input, whatever this node reads
        return naming.expand(template, input_key=job.Input.Object, run_id=execution.id, job_id=job.JobId,
                             ext=ext, keep_number=numbered)

    bucket = operation.Output.Bucket or ""
    sprite = operation.Output.SpriteObject
    parts: list[ObjectRef] = []
    if isinstance(params, ConcatParams):  # the fragments are objects of the input's bucket
        parts = [source if fragment is None else ObjectRef(bucket=source.bucket, key=storage.object_key(fragment.Url, source.bucket))
                 for fragment in concat_order(params)]
        for part in parts:  # each is an input the service did not produce: refused here if hostile
            _, part_info, part_size = inputs.get(part)
            check_input(queue, part_size, part_info)
    marks = [mark.model_dump(mode="json", exclude_none=True) for mark in operation.Watermark]
    images = [_image(mark.Image.Url, source.bucket) if mark.Image else None for mark in operation.Watermark]
    unit = UnitSpec(
        execution_id=execution.id, job_id=job.JobId, kind=KINDS[job.Tag], input=source,
        output=ObjectRef(bucket=bucket, key=name(operation.Output.Object) if operation.Output.Object else ""),
        sprite_output=ObjectRef(bucket=bucket, key=name(sprite, "jpg")) if numbered and sprite else None,  # sheets are JPEG
        params=params.model_dump(mode="json", exclude_none=True), duration=info.duration,
        parts=parts, watermarks=marks, images=images,
    )
    work_bucket = os.environ.get("OUTPUT_BUCKET") or bucket
    if isinstance(params, SpeechParams):
        return speech_jobs.plan_speech(unit, local, info, inputs.workdir, work_bucket)
    if isinstance(params, TranscodeParams) and split.wants_split(params, info):
        return split.plan_split(unit, local, info, inputs.workdir, work_bucket) or [unit]
    return [unit]


def _doc_units(job: Job, params: DocParams, execution: Execution, source: ObjectRef, inputs: Inputs,
               queue: Queue) -> list[UnitSpec]:
    """A document job's page units: the document is not media, so it is fetched but never probed."""
    operation = job.Operation
    local = inputs.fetch(source)
    check_input(queue, local.stat().st_size, None)
    key = naming.expand(operation.Output.Object, input_key=job.Input.Object, run_id=execution.id, job_id=job.JobId,
                        ext=_extension(params))
    unit = UnitSpec(execution_id=execution.id, job_id=job.JobId, kind="doc", input=source,
                    output=ObjectRef(bucket=operation.Output.Bucket or "", key=key),
                    params=params.model_dump(mode="json", exclude_none=True), duration=0)
    units = doc_jobs.plan_doc(unit, source, local, inputs.workdir, os.environ.get("OUTPUT_BUCKET") or unit.output.bucket)
    check_outputs(queue, sum(doc_jobs.expected_outputs(u) for u in units))
    return units


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


def _fail(job_id: str, code: str, message: str) -> None:
    def failed(job: Job) -> None:
        if job.State not in FINAL_STATES:
            job.State, job.Code, job.Message, job.EndTime = "Failed", code, message, now()

    update_job(job_id, failed)


def reports_changes(execution: Execution) -> bool:
    """An MPS task whose TaskNotifyConfig asks for an event as each subtask ends, and a schedule's run,
    which notifies as each activity ends."""
    task = execution.task or {}
    return (task.get("TaskNotifyConfig") or {}).get("NotifyMode") == "Change" or task.get("TaskType") == "ScheduleTask"


def plan_units(execution_id: str, stage: int = 0) -> tuple[list[UnitSpec], int]:
    """The units of one stage, those that run in parallel first and the joins of its split
    transcodes (which run after them) last, and the next stage (-1: none). A job whose input is
    refused (unreadable, hostile, over a queue limit) or that would take the stage or execution over
    its unit limit fails here, before any encode."""
    execution = get_execution(execution_id)
    if stage == 0:
        import_input(execution)  # a ProcessMedia task's URL input
    queue = get_queue(execution.queue_id)
    earlier = sum(count for planned_stage, count in execution.stage_units.items() if planned_stage != stage)
    room = min(MAX_STAGE_UNITS, MAX_EXECUTION_UNITS - earlier)
    units: list[UnitSpec] = []
    with tempfile.TemporaryDirectory() as folder:
        inputs = Inputs(Path(folder))
        for job in (j for j in jobs_of(execution) if j.stage == stage and j.State not in FINAL_STATES):
            source = source_of(job)
            if isinstance(source, str):
                _fail(job.JobId, "PredecessorFailed", source)
                continue
            if stage:
                start_job(job.JobId, now())
            try:
                job_units = units_for(job, execution, source, inputs, queue)
            except MediaflowError as error:
                _fail(job.JobId, error.code, error.message)
                continue
            if len(units) + len(job_units) > room:
                _fail(job.JobId, LimitExceededError.code,
                      f"the job needs {len(job_units)} task units and its run has room for {max(0, room - len(units))} more "
                      f"(at most {MAX_STAGE_UNITS} per stage and {MAX_EXECUTION_UNITS} per run)")
                continue
            for index, unit in enumerate(job_units):
                unit.index, unit.units_of_job = index, len(job_units)
                # a subtask of one unit ends with it; one of several is reported when its stage ends
                unit.report = len(job_units) == 1 and reports_changes(execution)
            units += job_units
    next_stage = stage + 1 if stage + 1 < execution.stages else -1
    return [u for u in units if u.kind not in JOIN_KINDS] + [u for u in units if u.kind in JOIN_KINDS], next_stage


def plan(execution_id: str, stage: int = 0) -> dict[str, Any]:
    """Plan one stage: its unit specs go to the work store (unitstore) and the state gets their
    numbers only: `units` run in parallel, then `joins` (the joins of its split transcodes). The
    state machine reads the units' numbers from the object `items` names (its Distributed Map's
    ItemReader), so its state does not grow with them; `units` is for callers that run the steps."""
    units, next_stage = plan_units(execution_id, stage)
    unitstore.save_specs(execution_id, stage, units)

    def planned(doc: Execution) -> None:
        doc.stage_units[stage] = len(units)  # by stage, so that a retried Plan counts once
        doc.units_total = sum(doc.stage_units.values())

    update_execution(execution_id, planned)
    joins = sum(u.kind in JOIN_KINDS for u in units)
    numbers = list(range(len(units) - joins))
    return {"units": numbers, "items": unitstore.save_items(execution_id, stage, numbers),
            "joins": list(range(len(units) - joins, len(units))), "next_stage": next_stage}


def planned_specs(execution_id: str, stage: int, planned: dict[str, Any]) -> tuple[list[UnitSpec], list[UnitSpec]]:
    """The specs behind a plan's `units` and `joins` (for callers that run the steps themselves)."""
    def load(numbers: list[int]) -> list[UnitSpec]:
        return [unitstore.load_spec(unitstore.UnitRef(execution_id=execution_id, stage=stage, index=n)) for n in numbers]

    return load(planned["units"]), load(planned["joins"])
