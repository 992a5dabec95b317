"""Plan an execution: probe the input once, resolve each job's parameters, cut it into task units."""

from __future__ import annotations

import tempfile
from pathlib import Path

from . import naming, storage
from .exceptions import MediaError
from .jobs import get_execution, jobs_of, update_execution
from .media import probe
from .models import Execution, Job, ObjectRef, UnitSpec
from .templates import operation_params

PROBE_TIMEOUT = 60


def units_for(job: Job, execution: Execution, duration: float) -> list[UnitSpec]:
    operation = job.Operation
    source = ObjectRef(bucket=job.Input.BucketId, key=job.Input.Object)
    if operation.Transcode is not None:
        ext = operation.Transcode.extension
        key = naming.expand(operation.Output.Object, input_key=source.key, run_id=execution.id, job_id=job.JobId, ext=ext)
        kind = "transcode"
    else:
        ext = operation.Snapshot.Format if operation.Snapshot else "jpg"
        key = naming.expand(operation.Output.Object, input_key=source.key, run_id=execution.id, job_id=job.JobId,
                            ext=ext, keep_number=True)
        kind = "snapshot"
    params = operation_params(operation)
    return [
        UnitSpec(
            execution_id=execution.id, job_id=job.JobId, kind=kind, input=source,
            output=ObjectRef(bucket=operation.Output.Bucket or "", key=key),
            params=params.model_dump(mode="json", exclude_none=True), duration=duration,
        )
    ]


def plan(execution_id: str) -> dict:
    execution = get_execution(execution_id)
    jobs = jobs_of(execution)
    with tempfile.TemporaryDirectory() as workdir:
        local = storage.download(execution.bucket, jobs[0].Input.Object, Path(workdir))
        info = probe(str(local), timeout=PROBE_TIMEOUT)
    if info.duration <= 0:
        raise MediaError(f"{jobs[0].Input.Object} has no duration: not a playable media file")
    units = []
    for job in jobs:
        job_units = units_for(job, execution, info.duration)
        for index, unit in enumerate(job_units):
            unit.index, unit.units_of_job = index, len(job_units)
        units += job_units

    def planned(doc: Execution) -> None:
        doc.units_total = len(units)

    update_execution(execution_id, planned)
    return {"units": [u.model_dump(mode="json") for u in units], "duration": info.duration}
