"""Speech recognition jobs through the library's steps in-process (plan -> chunk units in parallel ->
join -> record -> finish) on the template's stack in moto: speech synthesised by espeak-ng, cut at
its silences, recognised by the embedded engine and stitched onto the whole audio's clock."""

from __future__ import annotations

import os
import re
import subprocess
from typing import Any

import boto3
import pytest
from mediaflow.control import submit
from mediaflow.control.jobs import get_job
from mediaflow.models import Job
from mediaflow.persistence.storage import WORK_PREFIX
from support import (
    SPOKEN,
    PlannedStage,
    make_video,
    serve_bucket,
    speak,
    word_error_rate,
)
from test_media_jobs import run

pytestmark = pytest.mark.integration
BUCKET = "speech-jobs"
SENTENCES = SPOKEN


@pytest.fixture
def bucket(stack) -> str:
    serve_bucket(BUCKET)
    return BUCKET


def speech_job(key: str, output: str, **params: Any) -> tuple[Job, PlannedStage]:
    body = {"Tag": "SpeechRecognition", "Input": {"Object": key},
            "Operation": {"SpeechRecognition": {k: str(v) for k, v in params.items()}, "Output": {"Object": output}}}
    job = submit.create_jobs(BUCKET, body, output_bucket=BUCKET, queue_url=os.environ["SPEECH_QUEUE_URL"],
                             feature="speech")[0]
    planned = run(job.JobId)
    return get_job(job.JobId), planned


def text_of(key: str) -> str:
    return boto3.client("s3").get_object(Bucket=BUCKET, Key=key)["Body"].read().decode()


def srt_times(srt: str) -> list[tuple[float, float]]:
    def seconds(stamp: str) -> float:
        h, m, s = stamp.replace(",", ".").split(":")
        return int(h) * 3600 + int(m) * 60 + float(s)

    return [(seconds(a), seconds(b)) for a, b in re.findall(r"(\S+) --> (\S+)", srt)]


def test_long_speech_is_cut_at_silences_recognised_in_parallel_and_stitched(bucket, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("SPEECH_CHUNK_SECONDS", "3")  # about 11 s of speech: a chunk per sentence or so
    audio = speak(tmp_path / "talk.wav", SENTENCES, pause_ms=2000)
    boto3.client("s3").upload_file(str(audio), BUCKET, "in/talk.wav")
    job, planned = speech_job("in/talk.wav", "out/${InputName}.srt", EngineModelType="16k_en", OutputFileType="srt",
                              ResTextFormat=1)

    assert (job.State, job.JobId[0]) == ("Success", "s"), job.Message
    chunks = [u for u in planned.units if u["kind"] == "speech"]
    assert len(chunks) >= 2 and [u["kind"] for u in planned.joins] == ["speech_join"]
    result = job.Operation.SpeechRecognitionResult
    assert word_error_rate(" ".join(SENTENCES), result["Result"]) <= 0.35, result["Result"]
    times = srt_times(text_of("out/talk.srt"))
    assert times and all(start < end for start, end in times)
    assert all(a[1] <= b[0] for a, b in zip(times, times[1:])), times  # cues follow one another
    assert times[0][0] < 1.5 and times[-1][1] <= float(result["AudioTime"]) + 0.1
    assert times[-1][0] > 6  # the last sentence sits on the whole audio's clock, not its chunk's
    words = [w for sentence in result["ResultDetail"] for w in sentence["Words"]]
    assert len(words) >= 12 and all(w["OffsetEndMs"] >= w["OffsetStartMs"] >= 0 for w in words)
    assert job.Operation.MediaResult["OutputFile"]["ObjectName"] == ["out/talk.srt"]
    listing = boto3.client("s3").list_objects_v2(Bucket=BUCKET, Prefix=WORK_PREFIX)
    assert listing.get("KeyCount", 0) == 0  # the chunks and their results are gone


def test_a_video_s_speech_is_recognised_to_text(bucket, tmp_path) -> None:
    audio = speak(tmp_path / "line.wav", SENTENCES[:1])
    video = tmp_path / "clip.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-i", str(audio),
                    "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-shortest", str(video)], check=True)
    boto3.client("s3").upload_file(str(video), BUCKET, "in/clip.mp4")
    job, _ = speech_job("in/clip.mp4", "out/clip.txt", EngineModelType="16k_en", FilterPunc=1)
    assert job.State == "Success", job.Message
    lines = text_of("out/clip.txt").splitlines()  # "[0:0.030,0:2.490]  text" per sentence
    assert lines and all(re.match(r"^\[\d+:\d+\.\d{3},\d+:\d+\.\d{3}\]  \S", line) for line in lines), lines
    assert word_error_rate(SENTENCES[0], " ".join(line.split("]", 1)[1] for line in lines)) <= 0.35
    assert "." not in job.Operation.SpeechRecognitionResult["Result"]  # FilterPunc 1: no sentence-final marks


def test_what_no_engine_here_can_recognise_fails_before_any_unit(bucket, tmp_path) -> None:
    boto3.client("s3").upload_file(str(speak(tmp_path / "a.wav", SENTENCES[:1])), BUCKET, "in/a.wav")
    job, planned = speech_job("in/a.wav", "out/a.txt", EngineModelType="16k_zh")
    assert (job.State, job.Code, planned.units) == ("Failed", "InvalidArgument", []), job.Message
    assert "pocketsphinx" in job.Message and "16k_zh" in job.Message

    silent = make_video(tmp_path / "silent.mp4", seconds=2, size="320x240", audio=False)
    boto3.client("s3").upload_file(str(silent), BUCKET, "in/silent.mp4")
    job, planned = speech_job("in/silent.mp4", "out/silent.txt", EngineModelType="16k_en")
    assert (job.State, job.Code, planned.units) == ("Failed", "InvalidMedia", []) and "audio" in job.Message
