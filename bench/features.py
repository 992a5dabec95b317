"""Speech recognition and document preview speed: the work a job's task units do, against the same
work done in one plain pass, on the same input in the same run.

No stack and no emulator: the library's own functions on local files, as the units run them, with W
local worker processes standing in for W Lambda units.

Speech (audio seconds recognised per wall second):
* raw: ffmpeg turns the whole input into 16 kHz mono PCM, then pocketsphinx decodes it in one pass;
* pipeline with W workers: what Plan does (silences found, the audio cut into chunks of about
  --chunk-seconds at them, each chunk extracted), the chunks recognised by W processes, the
  sentences stitched onto the whole audio's clock.
The input: --speech-seconds of English sentences spoken by espeak-ng with pauses, or --audio FILE.

Documents (pages rendered per second):
* raw: every page of the PDF rendered and encoded in one process (mediaflow.docs.render_pages);
* pipeline with W workers: the pages shared out in units of doc_jobs.PAGES_PER_UNIT, each unit
  opening the PDF and rendering its pages, W units at a time.
The input: a PDF of about --pages pages of text (default 100) made by LibreOffice, or --pdf FILE; jpg at 96 dpi.

Usage: .venv/bin/python bench/features.py [--audio FILE] [--speech-seconds N] [--chunk-seconds S]
[--pdf FILE] [--pages N] [--workers 1,2] [--json]   (or `make bench-features`)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

# the other benchmarks in this folder
from dispatch import say
from mediaflow.docs import DocParams, open_pdf, render_pages, to_pdf
from mediaflow.media import probe
from mediaflow.pipeline import doc_jobs
from mediaflow.speech import (
    PocketSphinxEngine,
    SpeechParams,
    extract_pcm,
    silences,
    speech_chunks,
    stitch,
)
from renditions import FFMPEG
from split import default_workers

ENGLISH = SpeechParams(EngineModelType="16k_en")
SENTENCES = ["The meeting starts at ten in the morning.", "Please bring your notes and a pen.",
             "We will talk about the new project.", "The weather will be fine this afternoon."]
PARAGRAPH = ("Every page of this document holds a few paragraphs of plain text, so that rendering it costs "
             "what an ordinary office document costs. ") * 6


def make_speech(target: Path, seconds: float) -> Path:
    """English sentences spoken by espeak-ng (voice en-us+f2) with 0.8 s pauses, about `seconds` long."""
    count = max(1, round(seconds / 3.2))  # a sentence and its pause last about 3.2 s
    spoken = [SENTENCES[i % len(SENTENCES)] for i in range(count)]
    ssml = "<speak>" + '<break time="800ms"/>'.join(spoken) + "</speak>"
    subprocess.run(["espeak-ng", "-m", "-v", "en-us+f2", "-s", "140", "-w", str(target), ssml], check=True)
    return target


def make_pdf(target_dir: Path, pages: int) -> Path:
    """A PDF of about `pages` pages of text, written by LibreOffice from a plain text file."""
    text = target_dir / "document.txt"
    text.write_text("\n\n".join(PARAGRAPH for _ in range(pages * 5)), encoding="utf-8")
    return to_pdf(text, target_dir, kind="text")


# ------------------------------------------------------------------ speech
def recognise(wav: str) -> list:
    return PocketSphinxEngine().recognise(Path(wav), ENGLISH)


def speech_raw(audio: Path, work: Path) -> float:
    started = time.perf_counter()
    wav = extract_pcm(audio, work / "whole.wav", start=0, duration=1e6, sample_rate=16000)
    recognise(str(wav))
    return time.perf_counter() - started


def speech_pipeline(audio: Path, duration: float, work: Path, workers: int, chunk_seconds: float) -> tuple[float, int]:
    started = time.perf_counter()
    quiet = silences(audio, timeout=300) if duration > 2 * chunk_seconds else []
    windows = speech_chunks(duration, quiet, target=chunk_seconds)
    wavs = [str(extract_pcm(audio, work / f"chunk-{i}.wav", start=a, duration=b - a, sample_rate=16000))
            for i, (a, b) in enumerate(windows)]
    with ProcessPoolExecutor(workers) as pool:
        found = list(pool.map(recognise, wavs))
    stitch([(start, sentences) for (start, _), sentences in zip(windows, found)])
    return time.perf_counter() - started, len(windows)


# ------------------------------------------------------------------ documents
def render_unit(pdf: str, pages: list[int], folder: str) -> int:
    params = DocParams(TgtType="jpg")
    open_pdf(Path(pdf), None)  # each unit opens and checks the document, as the unit does
    return len(render_pages(Path(pdf), pages, params, Path(folder)))


def docs_raw(pdf: Path, pages: int, work: Path) -> float:
    started = time.perf_counter()
    render_pages(pdf, list(range(1, pages + 1)), DocParams(TgtType="jpg"), work)
    return time.perf_counter() - started


def docs_pipeline(pdf: Path, pages: int, work: Path, workers: int) -> tuple[float, int]:
    size = doc_jobs.PAGES_PER_UNIT
    batches = [list(range(at, min(at + size, pages + 1))) for at in range(1, pages + 1, size)]
    folders = [work / f"unit-{i}" for i in range(len(batches))]
    for folder in folders:
        folder.mkdir()
    started = time.perf_counter()
    with ProcessPoolExecutor(workers) as pool:
        rendered = sum(pool.map(render_unit, [str(pdf)] * len(batches), batches, map(str, folders)))
    assert rendered == pages
    return time.perf_counter() - started, len(batches)


def report(f: dict[str, Any]) -> str:
    lines = [f"machine: {f['cpus']} cores",
             f"speech: {f['audio_seconds']:.1f} s of audio",
             f"  raw ffmpeg + pocketsphinx, one pass  {f['speech_raw']:.2f} s  "
             f"{f['audio_seconds'] / f['speech_raw']:.2f} audio s / wall s"]
    for w, (seconds, chunks) in f["speech_pipeline"].items():
        lines.append(f"  pipeline, {chunks} chunks, {w} workers  {seconds:.2f} s  "
                     f"{f['audio_seconds'] / seconds:.2f} audio s / wall s  ({seconds / f['speech_raw']:.2f}x raw)")
    lines += [f"documents: {f['pages']} pages, jpg 96 dpi (LibreOffice made the PDF in {f['convert']:.2f} s)",
              f"  raw render, one process  {f['docs_raw']:.2f} s  {f['pages'] / f['docs_raw']:.1f} pages / s"]
    for w, (seconds, units) in f["docs_pipeline"].items():
        lines.append(f"  pipeline, {units} units, {w} workers  {seconds:.2f} s  {f['pages'] / seconds:.1f} pages / s"
                     f"  ({seconds / f['docs_raw']:.2f}x raw)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--audio", type=Path)
    parser.add_argument("--speech-seconds", type=float, default=60)
    parser.add_argument("--chunk-seconds", type=float, default=15)
    parser.add_argument("--pdf", type=Path)
    parser.add_argument("--pages", type=int, default=100)
    parser.add_argument("--workers", default=",".join(map(str, default_workers())))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    os.environ.setdefault("FFMPEG_PATH", str(FFMPEG))
    workers = [int(w) for w in args.workers.split(",")]
    figures: dict[str, Any] = {"cpus": os.cpu_count(), "speech_pipeline": {}, "docs_pipeline": {}}
    with tempfile.TemporaryDirectory(prefix="mediaflow-bench-") as folder:
        work = Path(folder)
        audio = args.audio or make_speech(work / "speech.wav", args.speech_seconds)
        figures["audio_seconds"] = probe(str(audio)).duration
        say(f"speech: {figures['audio_seconds']:.1f} s")
        recognise(str(extract_pcm(audio, work / "warm.wav", start=0, duration=2, sample_rate=16000)))  # model loaded
        figures["speech_raw"] = speech_raw(audio, work)
        for w in workers:
            (work / f"speech-{w}").mkdir()
            figures["speech_pipeline"][w] = speech_pipeline(audio, figures["audio_seconds"], work / f"speech-{w}", w,
                                                            args.chunk_seconds)
        started = time.perf_counter()
        pdf = args.pdf or make_pdf(work, args.pages)
        figures["convert"] = time.perf_counter() - started if not args.pdf else 0.0
        figures["pages"] = open_pdf(pdf, None).page_count
        say(f"documents: {figures['pages']} pages")
        (work / "raw").mkdir()
        figures["docs_raw"] = docs_raw(pdf, figures["pages"], work / "raw")
        for w in workers:
            (work / f"docs-{w}").mkdir()
            figures["docs_pipeline"][w] = docs_pipeline(pdf, figures["pages"], work / f"docs-{w}", w)
    print(json.dumps(figures, indent=2) if args.json else report(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
