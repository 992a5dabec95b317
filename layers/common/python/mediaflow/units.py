"""One task unit: download the input, run ffmpeg, upload the outputs, report keys and checksums.

A media failure (corrupt input, ffmpeg error) is the job's failure, not the worker's: it comes
back as a result with ok=False, and whatever the unit had uploaded is removed again."""

from __future__ import annotations

import mimetypes
import tempfile
import time
from pathlib import Path

from . import naming, storage
from .exceptions import MediaError, MediaflowError
from .jobs import update_job
from .media import SnapshotParams, TranscodeParams, probe, run_ffmpeg, snapshot_args, transcode_args
from .models import OutputObject, UnitResult, UnitSpec

# Generous per-unit ffmpeg limit below the Lambda timeout (900 s), so a stuck encode fails the job cleanly.
FFMPEG_TIMEOUT = 840
PROGRESS_EVERY = 3.0  # seconds between progress writes to the job record


class Progress:
    """Moves the job's Progress by this unit's share (100 / units of the job) as ffmpeg advances."""

    def __init__(self, unit: UnitSpec):
        self.unit, self.share, self.reported, self.last_write = unit, 100 / unit.units_of_job, 0, time.monotonic()

    def _add(self, points: int) -> None:
        if points > 0:
            self.reported += points
            update_job(self.unit.job_id, lambda job: setattr(job, "Progress", min(99, job.Progress + points)))

    def __call__(self, fraction: float) -> None:
        if time.monotonic() - self.last_write >= PROGRESS_EVERY:
            self.last_write = time.monotonic()
            self._add(int(self.share * min(1.0, fraction)) - self.reported)

    def done(self) -> None:
        self._add(max(1, round(self.share)) - self.reported)


def _transcode(unit: UnitSpec, source: Path, workdir: Path, progress: Progress) -> tuple[list[OutputObject], dict]:
    params = TranscodeParams.model_validate(unit.params)
    target = workdir / f"output.{params.extension}"
    run_ffmpeg(transcode_args(str(source), str(target), params, source_duration=unit.duration),
               timeout=FFMPEG_TIMEOUT, duration=unit.duration, progress=progress)
    info = probe(str(target))
    content_type = mimetypes.guess_type(target.name)[0]
    return [storage.upload(target, unit.output.bucket, unit.output.key, content_type)], info.model_dump(exclude_none=True)


def _snapshot(unit: UnitSpec, source: Path, workdir: Path, progress: Progress) -> tuple[list[OutputObject], None]:
    params = SnapshotParams.model_validate(unit.params)
    pattern = workdir / f"snap-%d.{params.Format}"
    run_ffmpeg(snapshot_args(str(source), str(pattern), params, duration=unit.duration), timeout=FFMPEG_TIMEOUT)
    images = sorted(workdir.glob(f"snap-*.{params.Format}"), key=lambda p: int(p.stem.split("-")[1]))
    if not images:
        raise MediaError("no snapshot could be taken from the input")
    content_type = mimetypes.guess_type(images[0].name)[0]
    outputs: list[OutputObject] = []
    try:
        for image in images:
            index = int(image.stem.split("-")[1])
            outputs.append(storage.upload(image, unit.output.bucket, naming.number(unit.output.key, index), content_type))
    except Exception:
        storage.delete(outputs)
        raise
    return outputs, None


def run_unit(unit: UnitSpec) -> UnitResult:
    with tempfile.TemporaryDirectory() as folder:
        workdir = Path(folder)
        try:
            source = storage.download(unit.input.bucket, unit.input.key, workdir)
            run = _transcode if unit.kind == "transcode" else _snapshot
            progress = Progress(unit)
            outputs, info = run(unit, source, workdir, progress)
        except MediaflowError as error:
            return UnitResult(job_id=unit.job_id, kind=unit.kind, index=unit.index, ok=False,
                              code=error.code, message=error.message)
    progress.done()
    return UnitResult(job_id=unit.job_id, kind=unit.kind, index=unit.index, ok=True, outputs=outputs, media_info=info)
