"""The scale report: runs the benchmarks that measure it and writes bench/REPORT.md with a plot per series.

Each benchmark runs in its own process with --json (its progress goes to the terminal), one after
another on this machine:

* start rate vs queue depth: `queues.py --count D` for each depth of --depths (in-process moto, the
  Processor's start rate, batched and one claim at a time, and the pause/resume call);
* an upload burst and its upload -> start latency: `dispatch.py --count N --max-concurrent M
  --priorities=-5,0,5` on the local stack (1,000 uploads, 20 runs at once, by default);
* split speedup vs workers: `split.py` (cut, W concurrent piece encodes, join);
* cost per output minute: `cost.py` (CPU-seconds per rendition, priced as Lambda bills them).

The PNGs (matplotlib) are written beside REPORT.md, and every figure to report.json: `--only` runs
some series again and takes the others from there. Compare ratios, not seconds: every figure depends
on the machine, whose os.cpu_count() the report prints.

Usage: .venv/bin/python bench/report.py [--depths 100,200,400] [--uploads 1000] [--max-concurrent 20] [--only NAME,...]
(or `make bench`).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no screen
import matplotlib.pyplot as plt  # noqa: E402

HERE = Path(__file__).resolve().parent
SERIES = ("queues", "dispatch", "split", "cost")
FIGURES = HERE / "report.json"


def run_bench(script: str, *args: str) -> dict[str, Any]:
    """One benchmark's figures; a failed one gives {"error": ...} and the report says so."""
    print(f"== {script} {' '.join(args)}", file=sys.stderr, flush=True)
    done = subprocess.run([sys.executable, str(HERE / script), *args, "--json"], stdout=subprocess.PIPE, text=True,
                          cwd=HERE.parent)
    start = done.stdout.find("\n{")  # after what the emulator may print on stdout
    try:
        figures = json.loads(done.stdout if done.stdout.startswith("{") else done.stdout[start + 1:])
    except json.JSONDecodeError:
        return {"error": f"{script} exited {done.returncode} without figures"}
    if done.returncode and "error" not in figures:
        figures["error"] = f"{script} exited {done.returncode}"
    return figures


# ------------------------------------------------------------------ the series
def queues_section(runs: list[dict[str, Any]]) -> str:
    good = [r for r in runs if "error" not in r]
    lines = ["## Start rate vs queue depth", "",
             "`queues.py`: D jobs waiting in a paused queue, resumed, then `processor.start_next` ticket after ticket "
             "until all are started (in-process moto: no workers, no media work; its table queries scan every item, "
             "so the rates fall with the depth here and not on DynamoDB).", "",
             "| depth | starts/s batched | starts/s one at a time | ratio | resume call s | writes |", "|---|---|---|---|---|---|"]
    for r in runs:
        if "error" in r:
            lines.append(f"| {r['depth']} | failed: {r['error']} | | | | |")
            continue
        b, o = r["batched"], r["one_at_a_time"]
        lines.append(f"| {r['depth']} | {b['starts_per_s']} | {o['starts_per_s']} | {r['start_rate_ratio']}x | "
                     f"{b['active_call_s']} | {b['active_writes']} |")
    if good:
        figure, axes = plt.subplots(figsize=(6, 3.5))
        axes.plot([r["depth"] for r in good], [r["batched"]["starts_per_s"] for r in good], "o-", label="batched claims")
        axes.plot([r["depth"] for r in good], [r["one_at_a_time"]["starts_per_s"] for r in good], "s--",
                  label="one claim at a time")
        axes.set(xlabel="jobs waiting", ylabel="runs started per second", title="Processor start rate (moto, in-process)")
        axes.legend()
        save(figure, "start_rate.png")
        lines += ["", "![start rate vs queue depth](start_rate.png)"]
    return "\n".join(lines)


def dispatch_section(f: dict[str, Any]) -> str:
    lines = ["## Upload burst: upload -> start", "",
             f"`dispatch.py --count {f.get('count')} --max-concurrent {f.get('max_concurrent')} --priorities=-5,0,5`: a "
             "one-Snapshot MPS workflow per priority level on the local stack, the queue paused, the uploads made at once "
             "from 16 threads, then the queue resumed with that MaxConcurrent: runs start as earlier ones end, so "
             "'started' is the pipeline's throughput on this machine, bounded by the emulator (its table queries scan "
             "every item, so each claim slows as the table fills).", ""]
    if "queued_per_s" in f:
        lines += ["| figure | value |", "|---|---|",
                  f"| uploads -> runs queued | {f['queued_s']} s ({f['queued_per_s']}/s) |",
                  f"| resume call | {f.get('resume_call_s')} s |",
                  f"| resume -> runs claimed | {f.get('claimed_s')} s ({f.get('claimed_per_s')}/s) |",
                  f"| resume -> runs started | {f.get('started_s')} s ({f.get('started_per_s')}/s) |",
                  f"| ended in Success | {f.get('success')} of {f['count']} |",
                  f"| upload -> start p50 / p95 / p99 | {f.get('upload_to_start_p50_s')} / {f.get('upload_to_start_p95_s')} / "
                  f"{f.get('upload_to_start_p99_s')} s |",
                  f"| started by priority | {f.get('started_by_priority')} {f.get('runs_per_priority')} |"]
    if "error" in f:
        lines += ["", f"Failed: {f['error']}"]
    if f.get("upload_to_start_s"):
        figure, axes = plt.subplots(figsize=(6, 3.5))
        axes.hist(f["upload_to_start_s"], bins=30)
        axes.set(xlabel="seconds from upload to start (includes the paused wait)", ylabel="runs",
                 title=f"Upload -> start, {f['count']} uploads, 3 priority levels")
        save(figure, "upload_to_start.png")
        lines += ["", "![upload to start latency](upload_to_start.png)"]
    return "\n".join(lines)


def split_section(f: dict[str, Any]) -> str:
    lines = ["## Split speedup vs workers", ""]
    if "error" in f:
        return "\n".join([*lines, f"Failed: {f['error']}"])
    lines += [f"`split.py`: input {f['input']} ({f['input_duration_s']:.1f} s), {f['pieces']} pieces of "
              f"{f['split_seconds']:g} s and the audio; raw single pass {f['raw_s']:.2f} s.", "",
              "| workers | total s | speedup | efficiency | / raw |", "|---|---|---|---|---|"]
    for row in f["split"]:
        lines.append(f"| {row['workers']} | {row['total_s']:.2f} | {row['speedup']:.2f}x | {row['efficiency']:.0%} | "
                     f"{row['over_raw']:.2f}x |")
    lines.append(f"\nJoined output vs input: off by {f['check']['difference_s']:.3f} s "
                 f"({'within' if f['check']['ok'] else 'NOT within'} one frame).")
    figure, axes = plt.subplots(figsize=(6, 3.5))
    workers = [row["workers"] for row in f["split"]]
    axes.plot(workers, [row["speedup"] for row in f["split"]], "o-", label="measured")
    axes.plot(workers, workers, ":", label="perfect")
    axes.set(xlabel="concurrent piece encodes (W)", ylabel="speedup over W = 1", title="Split-parallel transcoding")
    axes.legend()
    save(figure, "split_speedup.png")
    return "\n".join([*lines, "", "![split speedup](split_speedup.png)"])


def cost_section(f: dict[str, Any]) -> str:
    lines = ["## Cost per output minute", ""]
    if "error" in f:
        return "\n".join([*lines, f"Failed: {f['error']}"])
    sizes = list(f["renditions"][0]["lambda_usd_per_output_minute"])
    lines += [f"`cost.py`: input {f['input']}; CPU-seconds of one encode per output minute, priced as Lambda bills "
              "a unit that keeps its vCPUs busy (the lower bound: transfers and start-up are `bench-transcode`'s "
              "ratio).", "",
              "| rendition | CPU-s per output minute | " + " | ".join(f"Lambda {mb} MB, USD" for mb in sizes) + " |",
              "|---|---|" + "---|" * len(sizes)]
    for row in f["renditions"]:
        prices = " | ".join(f"{row['lambda_usd_per_output_minute'][mb]:.5f}" for mb in sizes)
        lines.append(f"| {row['codec']} {row['height']}p | {row['cpu_s_per_output_minute']} | {prices} |")
    lines += ["", f"Lambda's price: {f['lambda_price_source']}.",
              "MediaConvert: not compared. Its on-demand price per output minute could not be read from a source "
              "this report can cite with a date; `cost.py --mediaconvert-usd-per-minute P --mediaconvert-source TEXT` "
              "prints it beside these figures."]
    figure, axes = plt.subplots(figsize=(6, 3.5))
    labels = [f"{row['codec']}\n{row['height']}p" for row in f["renditions"]]
    axes.bar(labels, [row["lambda_usd_per_output_minute"][sizes[0]] * 1000 for row in f["renditions"]])
    axes.set(ylabel="USD per 1,000 output minutes", title="Lambda cost per output minute (CPU-bound lower bound)")
    save(figure, "cost_per_minute.png")
    return "\n".join([*lines, "", "![cost per output minute](cost_per_minute.png)"])


def save(figure: Any, name: str) -> None:
    figure.tight_layout()
    figure.savefig(HERE / name, dpi=100)
    plt.close(figure)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--depths", default="100,200,400", help="queue depths for the start rate (default 100,200,400)")
    parser.add_argument("--uploads", type=int, default=1000, help="uploads of the burst (default 1000)")
    parser.add_argument("--max-concurrent", type=int, default=20, help="the queue's MaxConcurrent in the burst (default 20)")
    parser.add_argument("--only", default=",".join(SERIES), help=f"series to run (default all: {','.join(SERIES)})")
    args = parser.parse_args(argv)
    chosen = [name for name in args.only.split(",") if name]
    unknown = set(chosen) - set(SERIES)
    if unknown:
        parser.error(f"unknown series {sorted(unknown)}; choose from {SERIES}")
    measure = {
        "queues": lambda: [run_bench("queues.py", "--count", d) | {"depth": int(d)} for d in args.depths.split(",")],
        "dispatch": lambda: run_bench("dispatch.py", "--count", str(args.uploads), "--max-concurrent",
                                      str(args.max_concurrent), "--priorities=-5,0,5", "--timeout", "2400"),
        "split": lambda: run_bench("split.py"),
        "cost": lambda: run_bench("cost.py"),
    }
    figures = json.loads(FIGURES.read_text()) if FIGURES.is_file() else {}
    for name in chosen:
        figures[name] = measure[name]()
    FIGURES.write_text(json.dumps(figures, indent=1) + "\n", encoding="utf-8")
    sections = {"queues": queues_section, "dispatch": dispatch_section, "split": split_section, "cost": cost_section}
    head = ["# Scale report",
            f"Written by `make bench` (`bench/report.py`) on {datetime.date.today().isoformat()}, "
            f"os.cpu_count() = {os.cpu_count()}. Each section names the benchmark that measured it; "
            "`bench/README.md` says what each figure is. Compare ratios between runs, not seconds."]
    body = [sections[name](figures[name]) for name in SERIES if name in figures]
    (HERE / "REPORT.md").write_text("\n\n".join([*head, *body]) + "\n", encoding="utf-8")
    print(f"wrote {HERE / 'REPORT.md'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
