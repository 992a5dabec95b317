"""Split-parallel transcoding: a long input is cut at key frames into pieces, the pieces' video is
encoded in parallel task units, the audio track in one more, and a join unit puts them together
without re-encoding. An hls output is split too: its pieces put key frames on the output's segment
grid (`key_frame_grid`), and the join segments the joined stream, so no unit encodes the whole input.

The cut is a stream copy (fast, no quality loss) made where the input was probed (the Plan step),
so every piece starts with a key frame and the pieces hold exactly the input's frames between them.
Each piece is encoded from time 0 and the concat demuxer lays them end to end, so the joined video
lasts what the input does; the audio is encoded once, whole, so it has no seams and stays in sync.
Intermediate objects live under WORK_PREFIX in the stack's own bucket; the join removes them
(a lifecycle rule removes what a crash left).
"""

from __future__ import annotations

import csv
import math
import os
from pathlib import Path
from typing import Any

from .. import aws
from ..exceptions import MediaError, MediaflowError
from ..media import MediaInfo, TranscodeParams, input_args, muxer_args, probe, run_ffmpeg
from ..media.params import CONTAINERS, HLS
from ..models import ObjectRef, UnitSpec
from ..persistence import storage
from ..persistence.storage import WORK_PREFIX

# Pieces of one job, each at least SPLIT_SECONDS long: four hours (the state machine's timeout) of
# one-minute pieces. Their specs and results are in the work store and the Distributed Map reads their
# numbers from there, so no state grows with them.
MAX_PIECES = 240
DEFAULT_SPLIT_SECONDS = 60.0
CUT_TIMEOUT = 600
JOIN_TIMEOUT = 600
# Containers the join writes by stream copy (hls: segmented); audio-only outputs are encoded in one unit.
JOINABLE = ("mp4", "mkv", "flv", "ts", "webm", HLS)
PIECE_FORMAT = "mkv"  # holds every video and audio codec we encode


def split_seconds() -> float:
    """Target piece length (SPLIT_SECONDS; 0 turns splitting off). An input shorter than two pieces
    is encoded in one unit."""
    return float(os.environ.get("SPLIT_SECONDS") or DEFAULT_SPLIT_SECONDS)


def wants_split(params: TranscodeParams, info: MediaInfo) -> bool:
    seconds = split_seconds()
    return (seconds > 0 and info.duration >= 2 * seconds and info.video is not None
            and params.video_codec is not None and params.Container.Format in JOINABLE
            and not params.TimeInterval.Start and not params.TimeInterval.Duration)


def cut_times(duration: float, seconds: float) -> list[float]:
    """Where to ask for cuts: evenly, every `seconds` or more so that there are at most MAX_PIECES.
    Each cut lands on the first key frame at or after its time, so sparse key frames give fewer,
    longer pieces."""
    length = max(seconds, duration / MAX_PIECES)
    count = max(1, math.floor(duration / length))
    return [round(k * duration / count, 3) for k in range(1, count)]


def cut(source: Path, workdir: Path, times: list[float], with_audio: bool) -> tuple[list[tuple[Path, float, float]], Path | None]:
    """Stream-copy the first video stream into pieces at key frames: [(file, start, end)], and the
    first audio stream, whole, into one file (None without audio)."""
    pattern, listing = workdir / "src-%d.mkv", workdir / "pieces.csv"
    args = [*input_args(str(source)), "-map", "0:V:0", "-c", "copy", "-f", "segment",
            "-segment_times", ",".join(f"{t:.3f}" for t in times), "-segment_format", "matroska",
            "-segment_list", str(listing), "-segment_list_type", "csv", str(pattern)]
    audio = workdir / "src-audio.mka"
    if with_audio:
        args += ["-map", "0:a:0", "-c", "copy", "-f", "matroska", str(audio)]
    run_ffmpeg(args, timeout=CUT_TIMEOUT)
    with listing.open(newline="") as handle:
        pieces = [(workdir / name, float(start), float(end)) for name, start, end in csv.reader(handle)]
    return pieces, audio if with_audio else None


def work_key(execution_id: str, job_id: str, name: str) -> str:
    return f"{WORK_PREFIX}/{execution_id}/{job_id}/{name}"


def _piece_marks(marks: list[dict[str, Any]], start: float, end: float) -> list[dict[str, Any]]:
    """The watermarks of a piece, their time windows moved onto the piece's own clock (it starts at 0)."""
    shifted = []
    for mark in marks:
        first, last = mark.get("StartTime"), mark.get("EndTime")
        if (last is not None and float(last) <= start) or (first is not None and float(first) >= end):
            continue  # shown only outside this piece
        moved = dict(mark)
        if first is not None:
            moved["StartTime"] = max(0.0, float(first) - start)
        if last is not None:
            moved["EndTime"] = float(last) - start
        shifted.append(moved)
    return shifted


def plan_split(unit: UnitSpec, source: Path, info: MediaInfo, workdir: Path, work_bucket: str) -> list[UnitSpec] | None:
    """Cut `source` for the transcode `unit` and upload the pieces; return the units that encode
    them and, last, the join. None when the cut gives a single piece (key frames too sparse)."""
    params = TranscodeParams.model_validate(unit.params)
    with_audio = params.audio_codec is not None and info.audio is not None
    pieces, audio = cut(source, workdir, cut_times(info.duration, split_seconds()), with_audio)
    if len(pieces) < 2:
        return None

    def work(name: str) -> ObjectRef:
        return ObjectRef(bucket=work_bucket, key=work_key(unit.execution_id, unit.job_id, name))

    video_only = params.model_copy(deep=True)
    video_only.Container.Format, video_only.Audio.Remove = PIECE_FORMAT, True
    units = []
    for index, (path, start, end) in enumerate(pieces):
        uploaded = storage.upload(path, work_bucket, work(path.name).key)
        units.append(UnitSpec(execution_id=unit.execution_id, job_id=unit.job_id, kind="piece",
                              input=ObjectRef(bucket=uploaded.bucket, key=uploaded.key), output=work(f"enc-{index}.mkv"),
                              params=video_only.model_dump(mode="json", exclude_none=True),
                              watermarks=_piece_marks(unit.watermarks, start, end), images=unit.images,
                              duration=end - start, segment_from=start if params.Container.Format == HLS else None))
    encoded_audio = None
    if audio is not None:
        audio_format = audio_unit_format(params)
        encoded_audio = work(f"enc-audio.{CONTAINERS[audio_format].extension}")
        audio_only = params.model_copy(deep=True)
        audio_only.Container.Format, audio_only.Video.Remove = audio_format, True
        storage.upload(audio, work_bucket, work(audio.name).key)
        units.append(UnitSpec(execution_id=unit.execution_id, job_id=unit.job_id, kind="audio",
                              input=work(audio.name), output=encoded_audio,
                              params=audio_only.model_dump(mode="json", exclude_none=True), duration=info.duration))
    encoded = [u.output for u in units if u.kind == "piece"]
    join = unit.model_copy(update={"kind": "join", "input": encoded[0], "parts": encoded, "audio": encoded_audio,
                                   "watermarks": [], "images": []})
    return [*units, join]


def audio_unit_format(params: TranscodeParams) -> str:
    """The container the audio unit encodes into. An MP4 output gets its audio encoded into MP4 too:
    there the encoder's priming samples are an edit list, which the join's copy keeps. Copied out of
    Matroska into MP4 (ffmpeg 7) they would lengthen the track by 20 to 50 ms over a single pass."""
    return params.Container.Format if CONTAINERS[params.Container.Format].muxer == "mp4" else PIECE_FORMAT


def join_args(pieces_list: str, audio: str | None, dst: str, params: TranscodeParams) -> list[str]:
    """Lay the encoded pieces end to end and add the encoded audio, copying both (for hls, `dst` is
    the playlist and the segments go beside it)."""
    args = ["-f", "concat", "-safe", "0", *input_args(pieces_list)]
    args += [*input_args(audio), "-map", "0:v:0", "-map", "1:a:0"] if audio else ["-map", "0:v:0"]
    args += ["-c", "copy"]
    if CONTAINERS[params.Container.Format].muxer == "mp4" and params.video_codec == "H.265":
        args += ["-tag:v", "hvc1"]
    return [*args, *muxer_args(params, dst), dst]


def join(unit: UnitSpec, first: Path, workdir: Path) -> tuple[Path, dict[str, Any]]:
    """Join the encoded pieces (the first already downloaded to `first`) and audio into the job's output."""
    params = TranscodeParams.model_validate(unit.params)
    names = [first.name]
    for index, part in enumerate(unit.parts[1:], start=1):
        try:
            names.append(storage.download(part.bucket, part.key, workdir, name=f"piece-{index}").name)
        except MediaflowError as error:  # a piece failed: its own result carries the reason
            raise MediaError(f"piece {index} of the split transcode is missing: {error.message}") from error
    listing = workdir / "pieces.txt"
    listing.write_text("".join(f"file '{name}'\n" for name in names), encoding="utf-8")  # our own names
    audio = str(storage.download(unit.audio.bucket, unit.audio.key, workdir, name="audio")) if unit.audio else None
    target = workdir / f"output.{params.extension}"
    run_ffmpeg(join_args(str(listing), audio, str(target), params), timeout=JOIN_TIMEOUT)
    return target, probe(str(target)).model_dump(exclude_none=True)


def remove_work(unit: UnitSpec) -> None:
    """Delete a job's intermediate objects (cut pieces, encoded pieces, audio; a speech job's chunks)."""
    if unit.parts:
        remove_prefix(unit.parts[0].bucket, work_key(unit.execution_id, unit.job_id, ""))


def remove_prefix(bucket: str, prefix: str) -> None:
    s3 = aws.client("s3")
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
        if keys:
            s3.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})
