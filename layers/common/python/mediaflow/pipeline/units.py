"""One task unit: download the input, run ffmpeg, upload the outputs, report keys and checksums.

A media failure (corrupt input, ffmpeg error) is the job's failure, not the worker's: it comes
back as a result with ok=False, and whatever the unit had uploaded is removed again.

A snapshot unit writes, by its SnapshotOutMode, the images (at `output`, ${Number} = 0, 1, ...),
the sprite sheets (at `sprite_output`, likewise numbered), or both. With the sheets goes their
WebVTT index, next to the first sheet: the sprite key with ${Number} read as "index" and the
extension .vtt (`snap/x/sprite-${Number}.jpg` -> `snap/x/sprite-index.vtt`).

An hls output is a playlist at `output` and its segments beside it, "<playlist stem>-<n>.ts" from 0
(`out/v.m3u8` -> `out/v-0.ts`, `out/v-1.ts`, ...). A segment unit writes piece n at `output` with
${Number} = n; for hls, with the extension .ts, and the playlist at the key with ${Number} read as
"index" and the extension .m3u8 (`seg/v-${Number}.ts` -> `seg/v-0.ts`, ..., `seg/v-index.m3u8`).
A playlist names its segments relative to itself; it comes first among the outputs.
"""

from __future__ import annotations

import math
import mimetypes
import posixpath
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .. import naming
from ..control.jobs import update_job
from ..exceptions import InvalidInputError, MediaError, MediaflowError
from ..media import (
    AnimationParams,
    ConcatParams,
    ConcatPart,
    Overlay,
    SegmentParams,
    SnapshotParams,
    TranscodeParams,
    animation_args,
    concat_args,
    concat_order,
    frame_times,
    output_size,
    probe,
    rename_segments,
    run_ffmpeg,
    segment_args,
    snapshot_args,
    sprite_args,
    sprite_webvtt,
    transcode_args,
    video_filter,
)
from ..media.params import CONTAINERS, HLS
from ..media.watermark import WatermarkParams, image_input_args, overlay_graph
from ..models import JOIN_KINDS, ObjectRef, OutputObject, UnitResult, UnitSpec
from ..persistence import storage, unitstore
from . import doc_jobs, speech_jobs, split

# Generous per-unit ffmpeg limit below the Lambda timeout (900 s), so a stuck encode fails the job cleanly.
FFMPEG_TIMEOUT = 840
PROGRESS_EVERY = 3.0  # seconds between progress writes to the job record
PLAYLIST = CONTAINERS[HLS].extension
# Python's table misnames these (.ts is a Qt translation file in /etc/mime.types)
CONTENT_TYPES = {".ts": "video/mp2t", ".m3u8": "application/vnd.apple.mpegurl"}

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
                args: Callable[[str], list[str]], duration: float | None = None) -> tuple[Files, dict]:
    """Encode to one file (a rendition, an animation), or an hls playlist and its segments, and report
    its media info. `duration`: how long the output will be, when not the input's."""
    target = workdir / f"output.{extension}"
    run_ffmpeg(args(str(target)), timeout=FFMPEG_TIMEOUT, duration=duration or unit.duration, progress=progress)
    return _written(unit, target, probe(str(target)).model_dump(exclude_none=True))  # hls: its local segments too


def _written(unit: UnitSpec, target: Path, info: dict) -> tuple[Files, dict]:
    """The file written to `target` going to the unit's output, or an hls playlist and its segments."""
    if target.suffix != f".{PLAYLIST}":
        return [(target, unit.output)], info
    stem = posixpath.splitext(unit.output.key)[0]
    segments = _numbered(target.parent, target.stem, "ts")  # hls_segment_pattern's names
    refs = [ObjectRef(bucket=unit.output.bucket, key=f"{stem}-{n}.ts") for n in range(len(segments))]
    return _playlist(target, unit.output, segments, refs), info


def _transcode(unit: UnitSpec, source: Path, workdir: Path, progress: Progress) -> tuple[Files, dict]:
    params = TranscodeParams.model_validate(unit.params)
    overlay = _overlay(unit, params, source, workdir) if unit.watermarks else None
    return _one_output(unit, workdir, progress, params.extension,
                       lambda target: transcode_args(str(source), target, params, source_duration=unit.duration,
                                                     overlay=overlay, segment_from=unit.segment_from))


def _overlay(unit: UnitSpec, params: TranscodeParams, source: Path, workdir: Path) -> Overlay:
    """The unit's watermarks over its picture, their images fetched from the input's bucket."""
    marks = [WatermarkParams.model_validate(mark) for mark in unit.watermarks]
    picture = probe(str(source))
    if picture.width is None or picture.height is None:
        raise MediaError("the input has no picture to put a watermark on")
    inputs: list[str] = []
    numbers: list[int | None] = []  # each mark's ffmpeg input: input 0 is the source, images follow
    for index, image in enumerate(unit.images):
        if image is not None:
            path = storage.download(image.bucket, image.key, workdir, name=f"watermark-{index}")
            inputs += image_input_args(str(path))
        numbers.append(None if image is None else 1 + sum(n is not None for n in numbers))
    size = output_size(params.Video.Width, params.Video.Height, (picture.width, picture.height))
    graph = overlay_graph(marks, numbers, base=video_filter(params), frame_size=size, workdir=workdir)
    return Overlay(inputs, graph)


def _join(unit: UnitSpec, source: Path, workdir: Path, progress: Progress) -> tuple[Files, dict]:
    """A split transcode's pieces (the first one is `source`) and audio joined into its output."""
    return _written(unit, *split.join(unit, source, workdir))


def _speech(unit: UnitSpec, source: Path, workdir: Path, progress: Progress) -> tuple[Files, None]:
    return [(speech_jobs.recognise_chunk(unit, source, workdir), unit.output)], None


def _speech_join(unit: UnitSpec, source: Path, workdir: Path, progress: Progress) -> tuple[Files, dict]:
    return speech_jobs.join_chunks(unit, source, workdir)


def _animation(unit: UnitSpec, source: Path, workdir: Path, progress: Progress) -> tuple[Files, dict]:
    params = AnimationParams.model_validate(unit.params)
    return _one_output(unit, workdir, progress, params.extension,
                       lambda target: animation_args(str(source), target, params, duration=unit.duration))


def _segment(unit: UnitSpec, source: Path, workdir: Path, progress: Progress) -> tuple[Files, dict | None]:
    params = SegmentParams.model_validate(unit.params)
    if naming.NUMBER not in unit.output.key:
        raise InvalidInputError("a Segment's Output Object must contain ${Number}, which numbers the pieces")
    info = probe(str(source))
    hls = params.Format == HLS
    target = workdir / (f"index.{PLAYLIST}" if hls else f"piece-%d.{params.extension}")
    length = min(params.EndTime or math.inf, info.duration) - (params.StartTime or 0)
    run_ffmpeg(segment_args(str(source), str(target), params, source=info), timeout=FFMPEG_TIMEOUT,
               duration=length, progress=progress)
    pieces = _numbered(workdir, "index" if hls else "piece", params.extension)
    if not pieces:
        raise MediaError("the input gave no pieces")
    template = _with_extension(unit.output, params.extension) if hls else unit.output
    refs = [_numbered_ref(template, i) for i in range(len(pieces))]
    if not hls:
        return list(zip(pieces, refs)), None
    media_info = probe(str(target)).model_dump(exclude_none=True)
    playlist = ObjectRef(bucket=unit.output.bucket, key=_index_key(unit.output.key, PLAYLIST))
    return _playlist(target, playlist, pieces, refs), media_info


def _concat(unit: UnitSpec, source: Path, workdir: Path, progress: Progress) -> tuple[Files, dict]:
    params = ConcatParams.model_validate(unit.params)
    order = concat_order(params)
    if len(unit.parts) != len(order):
        raise MediaflowError(f"a concat of {len(order)} parts was given {len(unit.parts)} inputs")
    parts = []
    for number, (ref, fragment) in enumerate(zip(unit.parts, order)):
        if fragment is None:  # the job's own input, already here
            parts.append(ConcatPart(str(source), probe(str(source)), params.InputStartTime, params.InputEndTime))
        else:
            path = storage.download(ref.bucket, ref.key, workdir, name=f"part-{number}")
            parts.append(ConcatPart(str(path), probe(str(path)), fragment.StartTime, fragment.EndTime))
    return _one_output(unit, workdir, progress, params.extension, lambda target: concat_args(parts, target, params),
                       duration=sum(part.length for part in parts))


def _mediainfo(unit: UnitSpec, source: Path, workdir: Path, progress: Progress) -> tuple[Files, dict]:
    return [], probe(str(source)).model_dump(exclude_none=True)


def _playlist(playlist: Path, ref: ObjectRef, segments: list[Path], refs: list[ObjectRef]) -> Files:
    """The playlist going to `ref`, its segments renamed to where they go (`refs`, relative to it), and
    the segments."""
    here = posixpath.dirname(ref.key) or "."
    names = {path.name: posixpath.relpath(seg.key, here) for path, seg in zip(segments, refs)}
    playlist.write_text(rename_segments(playlist.read_text(encoding="utf-8"), names), encoding="utf-8")
    return [(playlist, ref), *zip(segments, refs)]


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
    vtt_ref = ObjectRef(bucket=unit.sprite_output.bucket, key=_index_key(unit.sprite_output.key, "vtt"))
    names = [posixpath.relpath(ref.key, posixpath.dirname(vtt_ref.key) or ".") for _, ref in sheets]
    index = workdir / "sprite.vtt"
    index.write_text(sprite_webvtt(times, unit.duration, names, layout), encoding="utf-8")
    return [*sheets, (index, vtt_ref)]


def _numbered(workdir: Path, stem: str, ext: str) -> list[Path]:
    """stem-0.ext, stem-1.ext, ... in number order (ffmpeg's image2 numbering)."""
    return sorted(workdir.glob(f"{stem}-*.{ext}"), key=lambda path: int(path.stem.rpartition("-")[2]))


def _numbered_ref(template: ObjectRef, index: int) -> ObjectRef:
    return ObjectRef(bucket=template.bucket, key=naming.number(template.key, index))


def _index_key(template: str, extension: str) -> str:
    """Where the index of numbered outputs goes: their key with ${Number} read as "index"."""
    return posixpath.splitext(template.replace(naming.NUMBER, "index"))[0] + "." + extension


def _with_extension(template: ObjectRef, extension: str) -> ObjectRef:
    root, old = posixpath.splitext(template.key)
    return ObjectRef(bucket=template.bucket, key=(template.key if naming.NUMBER in old else root) + "." + extension)


def _content_type(path: Path) -> str | None:
    return CONTENT_TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0]


def _upload(files: Files) -> list[OutputObject]:
    """Upload all or nothing: on a failure, what was already written is deleted again."""
    outputs: list[OutputObject] = []
    try:
        for path, ref in files:
            outputs.append(storage.upload(path, ref.bucket, ref.key, _content_type(path)))
    except Exception:
        storage.delete(outputs)
        raise
    return outputs


RUNNERS: dict[str, Callable[[UnitSpec, Path, Path, Progress], tuple[Files, dict | None]]] = {
    "transcode": _transcode,
    "snapshot": _snapshot,
    "animation": _animation,
    "segment": _segment,
    "concat": _concat,
    "mediainfo": _mediainfo,
    # a split transcode: its pieces' video and its audio are transcodes to intermediate objects
    "piece": _transcode,
    "audio": _transcode,
    "join": _join,
    "speech": _speech,
    "speech_join": _speech_join,
    "doc": doc_jobs.render,
}
# Kinds whose runner reports their job's result element (SpeechRecognitionResult, a part of
# DocProcessResult) rather than media info.
RESULT_KINDS = ("speech_join", "doc")


def run_planned(ref: unitstore.UnitRef) -> dict[str, Any]:
    """Run unit `ref` of a planned stage: its spec comes from the work store and its result goes
    there (a retry writes it again); Step Functions gets only whether it succeeded, its number, and
    whether its owner wants to hear of it now (NotifyMode Change). A retry of a unit whose result
    was stored (it failed after that, or its answer was lost) returns that result without running
    again: a join has removed its pieces by then."""
    unit = unitstore.load_spec(ref)
    result = unitstore.load_result(ref)
    if result is None:
        result = run_unit(unit)
        unitstore.save_result(ref, result)
    return {"ok": result.ok, "index": ref.index, "report": unit.report}


def run_unit(unit: UnitSpec) -> UnitResult:
    try:
        return _run(unit)
    finally:
        if unit.kind in JOIN_KINDS:  # the job's intermediate objects, not needed whatever happened
            split.remove_work(unit)


def _run(unit: UnitSpec) -> UnitResult:
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
    details = {"result": info} if unit.kind in RESULT_KINDS else {"media_info": info}
    return UnitResult(job_id=unit.job_id, kind=unit.kind, index=unit.index, ok=True, outputs=outputs, **details)
