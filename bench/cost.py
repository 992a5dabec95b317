"""Cost per output minute: CPU-seconds measured per rendition and codec, priced as Lambda bills them.

No stack: each rendition is one ffmpeg run with the argument list a task unit builds
(mediaflow.media.transcode_args; mp4, Crf 23, preset veryfast, AAC 128 kbps) on a generated 1080p
25 fps input, and the CPU time of that run (user + system, of the child process) is what it cost.

Lambda bills memory x wall time. A unit of M MB has M / 1,769 vCPUs (at most 6), so an encode that
keeps them busy lasts cpu_s / vCPUs and costs (M / 1,024) x cpu_s / (M / 1,769) GB-seconds: about
1.73 GB-s per CPU-second whatever the memory, while the CPU is the bound. The model is that lower
bound (perfect use of the vCPUs, no transfer or start-up time: `bench-transcode` measures those
overheads as a ratio); this machine's CPU-seconds stand in for a Lambda vCPU's.

MediaConvert's on-demand price per output minute goes beside it when given with where it was read
(--mediaconvert-usd-per-minute, --mediaconvert-source); the report says so when it is not.

Usage: .venv/bin/python bench/cost.py [--seconds N] [--json] [--mediaconvert-usd-per-minute P --mediaconvert-source TEXT]
(or `make bench-cost`).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# the other benchmarks in this folder
from dispatch import say
from mediaflow.media import TranscodeParams, run_ffmpeg, transcode_args
from mediaflow.pipeline.units import FFMPEG_TIMEOUT
from renditions import FFMPEG
from split import KEY_FRAME_SECONDS

# Lambda's x86 duration price, first tier, and its request price (USD).
LAMBDA_USD_PER_GB_SECOND = 0.00001667
LAMBDA_USD_PER_REQUEST = 0.20 / 1_000_000
LAMBDA_PRICE_SOURCE = ("AWS whitepaper 'How AWS Pricing Works', Lambda: $0.00001667 per GB-second, "
                       "$0.20 per million requests; https://docs.aws.amazon.com/whitepapers/latest/how-aws-pricing-works/lambda.html, "
                       "read 2026-12-06")
MB_PER_VCPU, MAX_VCPUS = 1769, 6
MEMORY_SIZES_MB = (3008, 10240)  # the template's UnitMemorySize default and its maximum
RENDITIONS = (("H.264", 360), ("H.264", 720), ("H.264", 1080), ("H.265", 720), ("H.265", 1080))


def make_input(target: Path, seconds: int) -> Path:
    """A 1920x1080 25 fps H.264/AAC test pattern with a tone, a key frame every KEY_FRAME_SECONDS."""
    run_ffmpeg(["-f", "lavfi", "-i", f"testsrc2=size=1920x1080:rate=25:duration={seconds}",
                "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=44100:duration={seconds}",
                "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
                "-force_key_frames", f"expr:gte(t,n_forced*{KEY_FRAME_SECONDS})", "-c:a", "aac", "-shortest",
                "-f", "mp4", str(target)], timeout=FFMPEG_TIMEOUT)
    return target


def rendition(codec: str, height: int) -> TranscodeParams:
    return TranscodeParams.model_validate({
        "Container": {"Format": "mp4"}, "Video": {"Codec": codec, "Height": height, "Crf": 23, "Preset": "veryfast"},
        "Audio": {"Codec": "aac", "Bitrate": 128}})


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def lambda_usd(cpu_seconds: float, memory_mb: int) -> float:
    """One unit of `memory_mb` spending `cpu_seconds` with its vCPUs busy: its duration and its request
    (a split transcode runs one piece unit per SplitSeconds, 60 by default: one request a minute)."""
    vcpus = min(memory_mb / MB_PER_VCPU, MAX_VCPUS)
    return memory_mb / 1024 * (cpu_seconds / vcpus) * LAMBDA_USD_PER_GB_SECOND + LAMBDA_USD_PER_REQUEST


def measure(seconds: int, folder: Path) -> dict[str, Any]:
    source = make_input(folder / "input.mp4", seconds)
    rows = []
    for codec, height in RENDITIONS:
        target = folder / f"{codec}-{height}.mp4"
        before, started = children_cpu_seconds(), time.perf_counter()
        run_ffmpeg(transcode_args(str(source), str(target), rendition(codec, height), source_duration=seconds),
                   timeout=FFMPEG_TIMEOUT)
        cpu, wall = children_cpu_seconds() - before, time.perf_counter() - started
        per_minute = cpu * 60 / seconds
        rows.append({"codec": codec, "height": height, "cpu_s": round(cpu, 2), "wall_s": round(wall, 2),
                     "cpu_s_per_output_minute": round(per_minute, 2),
                     "lambda_usd_per_output_minute": {str(mb): round(lambda_usd(per_minute, mb), 6)
                                                      for mb in MEMORY_SIZES_MB}})
        say(f"{codec} {height}p: {per_minute:.1f} CPU-s per output minute")
    return {"cpu_count": os.cpu_count(), "input": f"generated 1920x1080 25 fps, {seconds} s", "renditions": rows,
            "lambda_price_source": LAMBDA_PRICE_SOURCE}


def report(figures: dict[str, Any]) -> str:
    mediaconvert = figures.get("mediaconvert_usd_per_minute")
    lines = [f"cost per output minute, input {figures['input']}, os.cpu_count() = {figures['cpu_count']}",
             f"  {'rendition':<14}{'CPU-s / min':>12}" + "".join(f"{f'Lambda {mb} MB':>18}" for mb in MEMORY_SIZES_MB)
             + (f"{'MediaConvert':>16}" if mediaconvert else "")]
    for row in figures["renditions"]:
        prices = "".join(f"{'$' + format(row['lambda_usd_per_output_minute'][str(mb)], '.5f'):>18}" for mb in MEMORY_SIZES_MB)
        lines.append(f"  {row['codec'] + ' ' + str(row['height']) + 'p':<14}{row['cpu_s_per_output_minute']:>12.1f}{prices}"
                     + (f"{'$' + format(mediaconvert, '.4f'):>16}" if mediaconvert else ""))
    lines.append(f"  Lambda price: {figures['lambda_price_source']}")
    lines.append(f"  MediaConvert: {figures.get('mediaconvert_source') or 'no price given (--mediaconvert-usd-per-minute)'}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=20, help="length of the generated 1080p input (default 20)")
    parser.add_argument("--mediaconvert-usd-per-minute", type=float, help="MediaConvert's on-demand price to compare")
    parser.add_argument("--mediaconvert-source", help="where and when that price was read (required with it)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON instead of a table")
    args = parser.parse_args(argv)
    if args.mediaconvert_usd_per_minute is not None and not args.mediaconvert_source:
        parser.error("--mediaconvert-source must say where and when the price was read")
    if not FFMPEG.is_file():
        parser.error(f"{FFMPEG} is missing; `make install` builds it")
    os.environ.setdefault("FFMPEG_PATH", str(FFMPEG))  # what the library runs
    with tempfile.TemporaryDirectory(prefix="mediaflow-cost-") as folder:
        figures = measure(args.seconds, Path(folder))
    if args.mediaconvert_usd_per_minute is not None:
        figures["mediaconvert_usd_per_minute"] = args.mediaconvert_usd_per_minute
        figures["mediaconvert_source"] = args.mediaconvert_source
    print(json.dumps(figures, indent=2) if args.json else report(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
