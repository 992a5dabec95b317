"""Speech recognition jobs: the audio is cut at silences into chunks that are recognised in parallel
task units, then a join unit puts their sentences on the whole audio's clock and writes the text.

Plan extracts each chunk as mono PCM at the engine's sample rate (small: 32 KB a second at 16 kHz)
into the work prefix, so a chunk unit downloads only its own audio. A chunk unit writes its
sentences as JSON next to it; the join reads them in order, shifts each by its chunk's start and
writes the txt or srt output and the SpeechRecognitionResult.
"""

from __future__ import annotations

import json
import os
import posixpath
from pathlib import Path
from typing import Any

from ..exceptions import MediaError
from ..media import MediaInfo
from ..models import ObjectRef, UnitSpec
from ..persistence import storage
from ..speech import (
    SpeechParams,
    apply_punctuation,
    engine_for,
    extract_pcm,
    sentences_from_json,
    sentences_to_json,
    silences,
    speech_chunks,
    speech_result,
    stitch,
    to_srt,
    to_txt,
)
from .split import work_key

DEFAULT_CHUNK_SECONDS = 60.0
# Chunks of one job: a longer input gets longer chunks rather than more of them (6 h of audio at the
# default 60 s is 360). What this bounds is the units of a stage (see planner.MAX_STAGE_UNITS).
MAX_CHUNKS = 400
SILENCE_TIMEOUT = 300
# The largest SpeechRecognitionResult kept in the job record (and carried by Step Functions, whose
# payloads stop at 256 KiB): a longer one goes whole to DetailObjectName and the record keeps the
# sentence list without word times, then only the text, cut if need be.
MAX_RESULT_BYTES = 64 * 1024


def chunk_seconds() -> float:
    """Target chunk length (SPEECH_CHUNK_SECONDS): long enough for whole sentences, short enough that
    an hour of audio is recognised by 60 units at once."""
    return float(os.environ.get("SPEECH_CHUNK_SECONDS") or DEFAULT_CHUNK_SECONDS)


def plan_speech(unit: UnitSpec, source: Path, info: MediaInfo, workdir: Path, work_bucket: str) -> list[UnitSpec]:
    """The chunk units of the speech job `unit` (whose output is the text) and, last, its join."""
    params = SpeechParams.model_validate(unit.params)
    engine_for(params.EngineModelType)  # a language no engine here serves fails the job now
    if info.audio is None:
        raise MediaError("the input has no audio track to recognise")
    target = chunk_seconds()
    quiet = silences(source, timeout=SILENCE_TIMEOUT) if info.duration > 2 * target else []
    windows = chunk_windows(info.duration, quiet, target)

    def work(name: str) -> ObjectRef:
        return ObjectRef(bucket=work_bucket, key=work_key(unit.execution_id, unit.job_id, name))

    chunks = []
    for index, (start, end) in enumerate(windows):
        wav = extract_pcm(source, workdir / f"chunk-{index}.wav", start=start, duration=end - start,
                          sample_rate=params.sample_rate)
        uploaded = storage.upload(wav, work_bucket, work(wav.name).key, "audio/wav")
        wav.unlink()
        chunks.append(unit.model_copy(update={"kind": "speech", "input": ObjectRef(bucket=uploaded.bucket, key=uploaded.key),
                                              "output": work(f"chunk-{index}.json"), "duration": end - start}))
    results = [chunk.output for chunk in chunks]
    join = unit.model_copy(update={"kind": "speech_join", "input": results[0], "parts": results,
                                   "offsets": [start for start, _ in windows]})
    return [*chunks, join]


def chunk_windows(duration: float, quiet: list[tuple[float, float]], target: float) -> list[tuple[float, float]]:
    """The chunks of `duration` seconds of audio, cut at the `quiet` stretches near every `target`
    seconds, and never more than MAX_CHUNKS: over it, the target grows until they fit (each chunk
    but the last is at least target / 2 long, so a target of 2 * duration / (MAX_CHUNKS - 1) does)."""
    target = max(target, duration / MAX_CHUNKS)
    while True:
        windows = speech_chunks(duration, quiet, target=target)
        if len(windows) <= MAX_CHUNKS:
            return windows
        target = max(target * len(windows) / MAX_CHUNKS, target * 1.05)


def recognise_chunk(unit: UnitSpec, wav: Path, workdir: Path) -> Path:
    """The sentences of one chunk (times from the chunk's start), as JSON for the join."""
    params = SpeechParams.model_validate(unit.params)
    sentences = engine_for(params.EngineModelType).recognise(wav, params)
    found = workdir / "sentences.json"
    found.write_text(sentences_to_json(sentences), encoding="utf-8")
    return found


def join_chunks(unit: UnitSpec, first: Path, workdir: Path) -> tuple[list[tuple[Path, ObjectRef]], dict[str, Any]]:
    """The job's text (txt or srt) from its chunks' sentences (the first already downloaded to
    `first`), where it goes, and its SpeechRecognitionResult (see MAX_RESULT_BYTES)."""
    params = SpeechParams.model_validate(unit.params)
    chunks = [(unit.offsets[0], sentences_from_json(first.read_text(encoding="utf-8")))]
    for index, (part, offset) in enumerate(zip(unit.parts[1:], unit.offsets[1:]), start=1):
        try:
            path = storage.download(part.bucket, part.key, workdir, name=f"chunk-{index}")
        except MediaError as error:  # a chunk failed: its own result carries the reason
            raise MediaError(f"chunk {index} of the audio was not recognised: {error.message}") from error
        chunks.append((offset, sentences_from_json(path.read_text(encoding="utf-8"))))
    sentences = apply_punctuation(stitch(chunks), params.FilterPunc)
    target = workdir / f"result.{params.OutputFileType}"
    target.write_text(to_srt(sentences) if params.OutputFileType == "srt" else to_txt(sentences), encoding="utf-8")
    result = speech_result(sentences, audio_time=unit.duration, params=params, object_name=unit.output.key)
    if _size(result) <= MAX_RESULT_BYTES:
        return [(target, unit.output)], result
    detail = ObjectRef(bucket=unit.output.bucket, key=posixpath.splitext(unit.output.key)[0] + ".detail.json")
    whole = workdir / "detail.json"
    whole.write_text(json.dumps(result, ensure_ascii=False), encoding="utf-8")
    return [(target, unit.output), (whole, detail)], within_limit(result, detail.key)


def within_limit(result: dict[str, Any], detail_key: str) -> dict[str, Any]:
    """A result over MAX_RESULT_BYTES as the job record keeps it; the whole one is at `detail_key`."""
    kept = {**result, "DetailObjectName": detail_key,
            "ResultDetail": [{k: v for k, v in d.items() if k != "Words"} for d in result["ResultDetail"]]}
    if _size(kept) > MAX_RESULT_BYTES:
        kept["ResultDetail"] = []
    if _size(kept) > MAX_RESULT_BYTES:
        kept["Result"] = kept["Result"].encode()[: MAX_RESULT_BYTES // 2].decode(errors="ignore") + " …"
    return kept


def _size(result: dict[str, Any]) -> int:
    return len(json.dumps(result, ensure_ascii=False).encode())
