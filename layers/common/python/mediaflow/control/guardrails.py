"""A queue's cost guardrails, checked as each job is planned: the size and duration of its input and
the number of objects the job would write. A job over a limit fails before any encode starts.
A limit of 0 means no limit."""

from __future__ import annotations

import math

from pydantic import BaseModel

from ..exceptions import LimitExceededError
from ..media import MediaInfo, SnapshotParams, TranscodeParams, snapshot_times
from ..media.params import MAX_SNAPSHOTS, SegmentParams
from ..models import Queue

_EPSILON = 1e-9  # 10 s in pieces of 5 s is 2 pieces, whatever the float division rounds to


def check_input(queue: Queue, size: int, info: MediaInfo | None) -> None:
    """LimitExceededError if an input of `size` bytes described by `info` (none for a document) is over
    the queue's limits."""
    if queue.MaxInputSize and size > queue.MaxInputSize:
        value, limit = _bytes(size), _bytes(queue.MaxInputSize)
        if value == limit:  # rounded alike: the exact numbers say which is larger
            value, limit = f"{size} bytes", f"{queue.MaxInputSize} bytes"
        raise LimitExceededError(f"the input is {value}, more than queue {queue.QueueId} allows (MaxInputSize {limit})")
    if queue.MaxInputDuration and info is not None and info.duration > queue.MaxInputDuration:
        raise LimitExceededError(f"the input lasts {_seconds(info.duration)}, more than queue {queue.QueueId} "
                                 f"allows (MaxInputDuration {_seconds(queue.MaxInputDuration)})")


def check_outputs(queue: Queue, count: int) -> None:
    """LimitExceededError if a job that writes `count` objects is over the queue's MaxOutputsPerJob."""
    if queue.MaxOutputsPerJob and count > queue.MaxOutputsPerJob:
        raise LimitExceededError(f"the job would write {count} objects, more than queue {queue.QueueId} "
                                 f"allows (MaxOutputsPerJob {queue.MaxOutputsPerJob})")


def expected_outputs(tag: str, params: BaseModel, info: MediaInfo) -> int:
    """How many objects a job of `tag` with `params` writes from an input described by `info`.

    Where the count depends on what decoding finds, it is taken at its largest: Count (or
    MAX_SNAPSHOTS) key-frame snapshots, and pieces exactly Duration long, where a cut made at the
    next key frame can only make them longer and fewer."""
    duration = info.duration
    if tag == "MediaInfo":
        return 0
    if tag == "Snapshot" and isinstance(params, SnapshotParams):
        return _snapshot_outputs(params, duration)
    if tag == "Segment" and isinstance(params, SegmentParams):
        start = params.StartTime or 0
        end = min(params.EndTime or duration, duration)
        pieces = max(1, math.ceil((end - start) / params.Duration - _EPSILON))
        return pieces + (1 if params.Format == "hls" else 0)  # and the playlist
    if tag == "Transcode" and isinstance(params, TranscodeParams) and params.Container.Format == "hls":
        start, length = params.TimeInterval.Start or 0, params.TimeInterval.Duration
        encoded = max(0.0, duration - start)
        encoded = min(encoded, length) if length else encoded
        # the playlist and its segments, each HlsTsTime long (a key frame is forced at each cut)
        return 1 + max(1, math.ceil(encoded / params.Video.HlsTsTime - _EPSILON))
    return 1  # Transcode, Animation, Concat: one file


def _snapshot_outputs(params: SnapshotParams, duration: float) -> int:
    if params.Mode == "KeyFrame" and not params.ExtTimeOffsetSet:
        frames = params.Count or MAX_SNAPSHOTS  # where key frames fall is only known once decoded
    else:
        frames = len(snapshot_times(params, duration))
    count = frames if params.wants_snapshots else 0
    sprite = params.SpriteSnapshotConfig
    if params.wants_sprites and sprite and sprite.Columns and sprite.Lines and frames:
        count += math.ceil(frames / (sprite.Columns * sprite.Lines)) + 1  # the sheets and their WebVTT index
    return count


def _bytes(size: float) -> str:
    """1536 -> "1.5 KB", 10 * 1024**3 -> "10 GB" (units of 1024, as the limits are usually set)."""
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if size < 1024 or unit == "TB":
            break
        size /= 1024
    return f"{_trim(size, 1)} {unit}"


def _seconds(value: float) -> str:
    """4 -> "4 s", 90 -> "90 s (1 min 30 s)", 7265.5 -> "7265.5 s (2 h 1 min)"."""
    if value < 60:
        return f"{_trim(value, 3)} s"
    hours, rest = divmod(int(value), 3600)
    minutes, seconds = divmod(rest, 60)
    parts = [f"{hours} h", f"{minutes} min"] if hours else [f"{minutes} min", f"{seconds} s"]
    return f"{_trim(value, 3)} s ({' '.join(p for p in parts if not p.startswith('0 '))})"


def _trim(value: float, places: int) -> str:
    return f"{value:.{places}f}".rstrip("0").rstrip(".")
