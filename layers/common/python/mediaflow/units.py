"""One task unit: download the input, run ffmpeg, upload the outputs, report keys and checksums.

A media failure (corrupt input, ffmpeg error) is the job's failure, not the worker's: it comes
back as a result with ok=False, and whatever the unit had uploaded is removed again.

A snapshot unit writes, by its SnapshotOutMode, the images (at `output`, ${Number} = 0, 1, ...),
the sprite sheets (at `sprite_output`, likewise numbered), or both. With the sheets goes their
WebVTT index, next to the first sheet: the sprite key with ${Number} read as "index" and the
extension .vtt (`snap/x/sprite-${Number}.jpg` -> `snap/x/sprite-index.vtt`).
"""

from __future__ import annotations

import mimetypes
import posixpath
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from . import naming, storage
from .exceptions import InvalidInputError, MediaError, MediaflowError
from .jobs import update_job
from .media import (
    AnimationParams,
    SnapshotParams,
    TranscodeParams,
    animation_args,
    frame_times,
    probe,
    run_ffmpeg,
    snapshot_args,
    sprite_args,
    sprite_webvtt,
    transcode_args,
)
from .models import ObjectRef, OutputObject, UnitResult, UnitSpec

# Generous per-unit ffmpeg limit below the Lambda timeout (900 s), so a stuck encode fails the job cleanly.
FFMPEG_TIMEOUT = 840
PROGRESS_EVERY = 3.0  # seconds between progress writes to the job record

Files = list[tuple[Path, ObjectRef]]  # what a unit made, and where each file goes


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


def _one_output(unit: UnitSpec, workdir: Path, progress: Progress, extension: str,
                args: Callable[[str], list[str]]) -> tuple[Files, dict]:
    """Encode to one file (a rendition, an animation) and report its media info."""
    target = workdir / f"output.{extension}"
    run_ffmpeg(args(str(target)), timeout=FFMPEG_TIMEOUT, duration=unit.duration, progress=progress)
    return [(target, unit.output)], probe(str(target)).model_dump(exclude_none=True)


def _transcode(unit: UnitSpec, source: Path, workdir: Path, progress: Progress) -> tuple[Files, dict]:
    params = TranscodeParams.model_validate(unit.params)
    return _one_output(unit, workdir, progress, params.extension,
                       lambda target: transcode_args(str(source), target, params, source_duration=unit.duration))


def _animation(unit: UnitSpec, source: Path, workdir: Path, progress: Progress) -> tuple[Files, dict]:
    params = AnimationParams.model_validate(unit.params)
    return _one_output(unit, workdir, progress, params.extension,
                       lambda target: animation_args(str(source), target, params, duration=unit.duration))


def _snapshot(unit: UnitSpec, source: Path, workdir: Path, progress: Progress) -> tuple[Files, None]:
    params = SnapshotParams.model_validate(unit.params)
    pattern, stats = workdir / f"snap-%d.{params.Format}", workdir / "snap-times.txt"
    run_ffmpeg(snapshot_args(str(source), str(pattern), params, duration=unit.duration, times_file=str(stats)),
               timeout=FFMPEG_TIMEOUT)
    images = _numbered(workdir, "snap", params.Format)
    if not images:
        raise MediaError("no snapshot could be taken from the input")
    files: Files = []
    if params.wants_snapshots:
        files += [(image, _numbered_ref(unit.output, i)) for i, image in enumerate(images)]
    if params.wants_sprites:
        files += _sprites(unit, params, pattern, images[0], frame_times(stats.read_text(), params), workdir)
    return files, None


def _sprites(unit: UnitSpec, params: SnapshotParams, pattern: Path, first: Path, times: list[float],
             workdir: Path) -> Files:
    """Tile the snapshot images (`pattern`, the first one `first`, shown at `times`) into sheets and
    index them: the sheets, then the WebVTT."""
    if unit.sprite_output is None:
        raise InvalidInputError(f"SnapshotOutMode {params.SnapshotOutMode} needs an output for the sprite "
                                "(SpriteObject)")
    config = params.SpriteSnapshotConfig
    assert config is not None  # SnapshotParams requires it for this mode
    frame = probe(str(first))  # the snapshots' size, for cells the config does not size
    layout = config.layout(frame.width or 0, frame.height or 0)
    run_ffmpeg(sprite_args(str(pattern), str(workdir / "sprite-%d.jpg"), config, layout), timeout=FFMPEG_TIMEOUT)
    sheets = [(path, _numbered_ref(unit.sprite_output, i))
              for i, path in enumerate(_numbered(workdir, "sprite", "jpg"))]
    vtt_ref = ObjectRef(bucket=unit.sprite_output.bucket, key=_webvtt_key(unit.sprite_output.key))
    names = [posixpath.relpath(ref.key, posixpath.dirname(vtt_ref.key) or ".") for _, ref in sheets]
    index = workdir / "sprite.vtt"
    index.write_text(sprite_webvtt(times, unit.duration, names, layout), encoding="utf-8")
    return [*sheets, (index, vtt_ref)]


def _numbered(workdir: Path, stem: str, ext: str) -> list[Path]:
    """stem-0.ext, stem-1.ext, ... in number order (ffmpeg's image2 numbering)."""
    return sorted(workdir.glob(f"{stem}-*.{ext}"), key=lambda path: int(path.stem.rpartition("-")[2]))


def _numbered_ref(template: ObjectRef, index: int) -> ObjectRef:
    return ObjectRef(bucket=template.bucket, key=naming.number(template.key, index))


def _webvtt_key(sprite_key: str) -> str:
    return posixpath.splitext(sprite_key.replace(naming.NUMBER, "index"))[0] + ".vtt"


def _upload(files: Files) -> list[OutputObject]:
    """Upload all or nothing: on a failure, what was already written is deleted again."""
    outputs: list[OutputObject] = []
    try:
        for path, ref in files:
            outputs.append(storage.upload(path, ref.bucket, ref.key, mimetypes.guess_type(path.name)[0]))
    except Exception:
        storage.delete(outputs)
        raise
    return outputs


RUNNERS: dict[str, Callable[[UnitSpec, Path, Path, Progress], tuple[Files, dict | None]]] = {
    "transcode": _transcode,
    "snapshot": _snapshot,
    "animation": _animation,
}


def run_unit(unit: UnitSpec) -> UnitResult:
    with tempfile.TemporaryDirectory() as folder:
        workdir = Path(folder)
        try:
            source = storage.download(unit.input.bucket, unit.input.key, workdir)
            progress = Progress(unit)
            files, info = RUNNERS[unit.kind](unit, source, workdir, progress)
            outputs = _upload(files)
        except MediaflowError as error:
            return UnitResult(job_id=unit.job_id, kind=unit.kind, index=unit.index, ok=False,
                              code=error.code, message=error.message)
    progress.done()
    return UnitResult(job_id=unit.job_id, kind=unit.kind, index=unit.index, ok=True, outputs=outputs, media_info=info)
