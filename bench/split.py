"""Split-parallel speedup: one transcode cut into pieces and encoded by W concurrent workers, on this machine's cores.

No stack and no emulator: the library's own functions and argument builders, on local files, as the
units of a split transcode run them.

* raw single pass: the job's encode (720p H.264/AAC mp4, Crf 23, preset veryfast) as one ffmpeg run
  (mediaflow.media.transcode_args on the whole input, ffmpeg's own threading); best of --repeat;
* split with W workers, for each W of --workers: the cut (mediaflow.pipeline.split.cut at
  mediaflow.pipeline.split.cut_times), then the pieces' video and the audio encoded with the parameters
  plan_split gives those units, by W concurrent ffmpeg runs of cpu_count // W threads each, then
  the join (mediaflow.pipeline.split.join_args); best of --repeat.

W local workers stand in for W Lambda units, each of which has its own vCPUs. The joined output's
duration is checked against the input's once (within one frame).

Usage: .venv/bin/python bench/split.py [--input FILE] [--seconds N] [--split-seconds S] [--workers 1,2,...]
[--repeat N] [--json]
(or `make bench-split [INPUT=FILE]`). Exits non-zero if the joined output's duration is off.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# the other benchmarks in this folder
from dispatch import say
from mediaflow.exceptions import MediaflowError
from mediaflow.media import (
    MediaInfo,
    TranscodeParams,
    probe,
    run_ffmpeg,
    transcode_args,
)
from mediaflow.pipeline import split
from mediaflow.pipeline.units import FFMPEG_TIMEOUT
from renditions import FFMPEG, FFMPEG_PREFIX, best_of, raw_sequential
from transcode import job_params

KEY_FRAME_SECONDS = 2


def make_input(target: Path, seconds: int) -> Path:
    """A 1280x720 25 fps H.264/AAC test pattern with a tone, a key frame every KEY_FRAME_SECONDS."""
    subprocess.run(
        [str(FFMPEG), *FFMPEG_PREFIX,
         "-f", "lavfi", "-i", f"testsrc2=size=1280x720:rate=25:duration={seconds}",
         "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=44100:duration={seconds}",
         "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
         "-force_key_frames", f"expr:gte(t,n_forced*{KEY_FRAME_SECONDS})",
         "-c:a", "aac", "-shortest", str(target)],
        check=True,
    )
    return target


def unit_params(params: TranscodeParams) -> tuple[TranscodeParams, TranscodeParams]:
    """The parameters plan_split gives the piece units (video only) and the audio unit."""
    video_only, audio_only = params.model_copy(deep=True), params.model_copy(deep=True)
    video_only.Container.Format, video_only.Audio.Remove = split.PIECE_FORMAT, True
    audio_only.Container.Format, audio_only.Video.Remove = split.audio_unit_format(params), True
    return video_only, audio_only


def with_threads(args: list[str], threads: int) -> list[str]:
    """`-threads N` as an output option: just before the destination, the last argument."""
    return [*args[:-1], "-threads", str(threads), args[-1]]


# ------------------------------------------------------------------ one split run
@dataclass
class SplitRun:
    cut: float
    encode: float
    join: float
    pieces: int
    output: MediaInfo

    @property
    def total(self) -> float:
        return self.cut + self.encode + self.join


def split_run(video: Path, info: MediaInfo, params: TranscodeParams, split_seconds: float,
              workers: int, workdir: Path) -> SplitRun:
    """Cut, encode the pieces and the audio with `workers` concurrent ffmpeg runs, join."""
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    threads = max(1, (os.cpu_count() or 1) // workers)
    video_only, audio_only = unit_params(params)
    with_audio = params.audio_codec is not None and info.audio is not None

    started = time.perf_counter()
    pieces, audio = split.cut(video, workdir, split.cut_times(info.duration, split_seconds), with_audio)
    cut_done = time.perf_counter()

    encoded = [workdir / f"enc-{index}.mkv" for index in range(len(pieces))]
    runs = [transcode_args(str(path), str(target), video_only, source_duration=end - start)
            for (path, start, end), target in zip(pieces, encoded)]
    encoded_audio = workdir / f"enc-audio.{audio_only.extension}" if audio else None
    if audio:  # planned after the pieces, as plan_split lists the units
        runs.append(transcode_args(str(audio), str(encoded_audio), audio_only, source_duration=info.duration))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        # list(): the first failure (MediaError) is raised here
        list(pool.map(lambda args: run_ffmpeg(with_threads(args, threads), timeout=FFMPEG_TIMEOUT), runs))
    encode_done = time.perf_counter()

    # split.join, minus the downloads: the list of pieces, the join run, the output's probe
    listing = workdir / "pieces.txt"
    listing.write_text("".join(f"file '{path.name}'\n" for path in encoded), encoding="utf-8")
    target = workdir / f"output.{params.extension}"
    run_ffmpeg(split.join_args(str(listing), str(encoded_audio) if encoded_audio else None, str(target), params),
               timeout=split.JOIN_TIMEOUT)
    output = probe(str(target))
    joined = time.perf_counter()
    return SplitRun(cut_done - started, encode_done - cut_done, joined - encode_done, len(pieces), output)


def frame_seconds(info: MediaInfo) -> float:
    fps = float(info.video.Fps or 0) if info.video else 0.0
    return 1 / fps if fps > 0 else 0.04


def default_workers() -> list[int]:
    """1, 2, 4, ... up to os.cpu_count(), and os.cpu_count() itself."""
    cores, counts = os.cpu_count() or 1, [1]
    while counts[-1] * 2 < cores:
        counts.append(counts[-1] * 2)
    return sorted({*counts, cores})


# ------------------------------------------------------------------ report
def report(figures: dict[str, Any]) -> str:
    check = figures["check"]
    head = (f"input {figures['input']} ({figures['input_duration_s']:.2f} s), one Transcode to 720p H.264/AAC mp4, "
            f"split every {figures['split_seconds']:g} s into {figures['pieces']} pieces + audio, "
            f"best of {figures['repeat']}, os.cpu_count() = {figures['cpu_count']}")
    lines = [head, f"  raw single pass (ffmpeg threading)  {figures['raw_s']:.2f} s", ""]
    columns = ("workers", "threads", "cut s", "encode s", "join s", "total s", "speedup", "efficiency", "/ raw")
    lines.append("  " + "  ".join(f"{name:>10}" for name in columns))
    for row in figures["split"]:
        cells = (row["workers"], row["threads"], f"{row['cut_s']:.2f}", f"{row['encode_s']:.2f}",
                 f"{row['join_s']:.2f}", f"{row['total_s']:.2f}", f"{row['speedup']:.2f}x",
                 f"{row['efficiency']:.0%}", f"{row['over_raw']:.2f}x")
        lines.append("  " + "  ".join(f"{cell:>10}" for cell in cells))
    if figures["cpu_count_over_raw"] is not None:
        lines.append(f"\n  split (W = {figures['cpu_count']}) / raw single pass  {figures['cpu_count_over_raw']:.2f}x")
    lines.append(f"  joined output {check['output_duration_s']:.2f} s vs input {check['input_duration_s']:.2f} s: "
                 f"off by {check['difference_s']:.3f} s, {'within' if check['ok'] else 'NOT within'} one frame "
                 f"({check['frame_s']:.3f} s)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--input", type=Path, help="a video file (default: a generated 1280x720 25 fps test pattern)")
    parser.add_argument("--seconds", type=int, default=60, help="length of the generated input (default 60)")
    parser.add_argument("--split-seconds", type=float, default=10, help="target piece length (default 10)")
    parser.add_argument("--workers", help="comma-separated worker counts (default: 1, 2, 4, ... and os.cpu_count())")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each measurement; the best counts (default 1)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON instead of a table")
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.seconds < 1:
        parser.error("--repeat and --seconds must be at least 1")
    if args.split_seconds <= 0:
        parser.error("--split-seconds must be more than 0")
    try:
        workers = sorted({1, *(int(w) for w in args.workers.split(","))}) if args.workers else default_workers()
    except ValueError:
        parser.error("--workers is a comma-separated list of whole numbers")
    if workers[0] < 1:
        parser.error("--workers must all be at least 1")
    if not FFMPEG.is_file():
        parser.error(f"{FFMPEG} is missing; `make install` builds it")
    if args.input and not args.input.is_file():
        parser.error(f"{args.input} is not a file")

    os.environ.setdefault("FFMPEG_PATH", str(FFMPEG))  # what the library runs
    params = job_params()
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="mediaflow-bench-") as folder:
        work = Path(folder)
        if args.input:
            video = args.input.resolve()
        else:
            say(f"generating a {args.seconds} s 1280x720 test pattern ...")
            video = make_input(work / "sample.mp4", args.seconds)
        try:
            info = probe(str(video))
        except MediaflowError as error:
            sys.exit(f"cannot read {video}: {error.message}")
        if info.video is None:
            sys.exit(f"{video} has no video to split")
        raw_target = str(work / f"raw.{params.extension}")
        command = [str(FFMPEG), *FFMPEG_PREFIX,
                   *transcode_args(str(video), raw_target, params, source_duration=info.duration)]

        say("raw single pass ...")
        raw, raw_runs = best_of(args.repeat, raw_sequential, lambda: [command])
        results: dict[int, list[SplitRun]] = {}
        for count in workers:
            say(f"split, {count} workers ...")
            try:
                results[count] = [split_run(video, info, params, args.split_seconds, count, work / "split")
                                  for _ in range(args.repeat)]
            except MediaflowError as error:
                sys.exit(f"split run with {count} workers failed: {error.message}")

    first = results[1][0]  # the correctness check, once
    difference = abs(first.output.duration - info.duration)
    check = {"input_duration_s": info.duration, "output_duration_s": first.output.duration,
             "difference_s": round(difference, 3), "frame_s": round(frame_seconds(info), 3),
             "ok": difference <= frame_seconds(info) + 1e-6}
    best = {count: min(runs, key=lambda run: run.total) for count, runs in results.items()}
    rows = [{"workers": count, "threads": max(1, cores // count), "cut_s": round(run.cut, 3),
             "encode_s": round(run.encode, 3), "join_s": round(run.join, 3), "total_s": round(run.total, 3),
             "speedup": round(best[1].total / run.total, 3), "efficiency": round(best[1].total / run.total / count, 3),
             "over_raw": round(run.total / raw, 3), "runs_s": [round(r.total, 3) for r in results[count]]}
            for count, run in best.items()]
    figures: dict[str, Any] = {
        "input": str(args.input) if args.input else "generated 1280x720 25 fps test pattern",
        "input_duration_s": round(info.duration, 3),
        "split_seconds": args.split_seconds,
        "pieces": first.pieces,
        "repeat": args.repeat,
        "cpu_count": cores,
        "raw_s": round(raw, 3),
        "raw_runs_s": [round(t, 3) for t in raw_runs],
        "split": rows,
        "cpu_count_over_raw": round(best[cores].total / raw, 3) if cores in best else None,
        "check": check,
    }
    print(json.dumps(figures, indent=2) if args.json else report(figures))
    return 0 if check["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
