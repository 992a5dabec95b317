"""Media jobs through the library's steps in-process (plan -> units in parallel -> joins -> record ->
finish), as the state machine runs them, on real files: split-parallel transcoding against a
single pass, and the operations whose planning resolves other objects (concat parts, watermark
images)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import boto3
import pytest
from mediaflow.control import submit
from mediaflow.control.jobs import get_job
from mediaflow.media import probe
from mediaflow.media.ffmpeg import FFMPEG_ENV
from mediaflow.persistence.storage import WORK_PREFIX
from mediaflow.pipeline.finish import finish
from support import PlannedStage, serve_bucket

pytestmark = pytest.mark.integration
BUCKET = "media-jobs"
FRAME = 1 / 25
FFMPEG_RUN = {**os.environ, **FFMPEG_ENV}  # as the service runs it: this static build reads .ts only so


@pytest.fixture(scope="module")
def long_video(tmp_path_factory) -> Path:
    """12 s of a moving pattern and a tone, a key frame every second, as a camera would give."""
    path = tmp_path_factory.mktemp("media") / "long.mp4"
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
                    "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25:duration=12",
                    "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100:duration=12",
                    "-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-pix_fmt", "yuv420p", "-c:a", "aac",
                    "-shortest", str(path)], check=True)
    return path


@pytest.fixture
def bucket(stack, long_video) -> str:
    s3 = boto3.client("s3")
    serve_bucket(BUCKET)
    s3.upload_file(str(long_video), BUCKET, "in/long.mp4")
    return BUCKET


def create(tag: str, operation: dict[str, Any]) -> str:
    body = {"Tag": tag, "Input": {"Object": "in/long.mp4"}, "Operation": operation}
    jobs = submit.create_jobs(BUCKET, body, output_bucket=BUCKET, queue_url=os.environ["MEDIA_QUEUE_URL"])
    return jobs[0].JobId


def run(job_id: str) -> PlannedStage:
    """One stage as the state machine runs it, then the finish; returns the planned stage."""
    planned = PlannedStage(job_id, 0)
    planned.run(workers=2)
    finish(job_id, results=[], notify_queue_url=os.environ["NOTIFY_QUEUE_URL"])
    return planned


def fetch(key: str, folder: Path) -> Path:
    target = folder / key.replace("/", "_")
    boto3.client("s3").download_file(BUCKET, key, str(target))
    return target


def frames(path: Path) -> int:
    out = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-map", "0:v:0", "-c", "copy", "-f", "framemd5", "-"],
                         check=True, capture_output=True, text=True, env=FFMPEG_RUN).stdout
    return sum(1 for line in out.splitlines() if line and not line.startswith("#"))


def psnr(a: Path, b: Path) -> float:
    err = subprocess.run(["ffmpeg", "-hide_banner", "-i", str(a), "-i", str(b), "-lavfi", "[0:v][1:v]psnr", "-f", "null", "-"],
                         capture_output=True, text=True, env=FFMPEG_RUN).stderr
    return float(err.rsplit("average:", 1)[1].split()[0])


TRANSCODE = {"Transcode": {"Container": {"Format": "mp4"}, "Video": {"Codec": "H.264", "Crf": "23", "Preset": "veryfast"},
                           "Audio": {"Codec": "aac", "Bitrate": "96"}}}


@pytest.mark.parametrize(("container", "codec"), [("mp4", "H.264"), ("hls", "H.264"), ("hls", "H.265")])
def test_a_split_transcode_equals_a_single_pass(bucket, tmp_path, monkeypatch, container: str, codec: str) -> None:
    video = TRANSCODE["Transcode"]["Video"] | {"Codec": codec}
    transcode = {"Transcode": TRANSCODE["Transcode"] | {"Container": {"Format": container}, "Video": video}}
    monkeypatch.setenv("SPLIT_SECONDS", "3")
    split_job = create("Transcode", transcode | {"Output": {"Object": f"out/{container}-{codec}/split.${{ext}}"}})
    planned = run(split_job)
    monkeypatch.setenv("SPLIT_SECONDS", "0")
    single_job = create("Transcode", transcode | {"Output": {"Object": f"out/{container}-{codec}/single.${{ext}}"}})
    assert len(run(single_job).units) == 1

    kinds = [u["kind"] for u in planned.units]
    assert kinds.count("piece") == 4 and kinds.count("audio") == 1 and len(planned.joins) == 1
    job = get_job(split_job)
    assert job.State == "Success", job.Message
    extension = "m3u8" if container == "hls" else container
    assert job.Operation.MediaResult["OutputFile"]["ObjectName"][0] == f"out/{container}-{codec}/split.{extension}"
    split_out, single_out = (fetch_all(f"out/{container}-{codec}/{name}", tmp_path / name) / f"{name}.{extension}"
                             for name in ("split", "single"))
    a, b = probe(str(split_out)), probe(str(single_out))
    assert abs(a.duration - b.duration) <= FRAME and abs(a.duration - 12) <= FRAME
    assert frames(split_out) == frames(single_out) == 300
    assert abs(float(a.audio.Duration or a.duration) - float(b.audio.Duration or b.duration)) <= 0.05
    assert psnr(split_out, single_out) >= 40
    if container == "hls":  # the pieces' key frames fall on the output's grid: segments as long as a single pass's
        assert segment_seconds(split_out) == pytest.approx(segment_seconds(single_out), abs=FRAME)
        assert segment_seconds(split_out)[:-1] == pytest.approx([5.0, 5.0], abs=FRAME)  # HlsTsTime's default
    assert "Contents" not in boto3.client("s3").list_objects_v2(Bucket=os.environ["OUTPUT_BUCKET"], Prefix=WORK_PREFIX)


def fetch_all(prefix: str, folder: Path) -> Path:
    """Every object under `prefix.` and `prefix-` (an output, or a playlist and its segments), by base name."""
    folder.mkdir(parents=True)
    s3 = boto3.client("s3")
    for item in s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix)["Contents"]:
        s3.download_file(BUCKET, item["Key"], str(folder / item["Key"].rsplit("/", 1)[-1]))
    return folder


def segment_seconds(playlist: Path) -> list[float]:
    return [float(line.split(":", 1)[1].rstrip(",")) for line in playlist.read_text().splitlines()
            if line.startswith("#EXTINF:")]


def test_a_failed_piece_fails_the_job_with_its_reason_and_leaves_no_output(bucket, monkeypatch) -> None:
    monkeypatch.setenv("SPLIT_SECONDS", "3")
    job_id = create("Transcode", TRANSCODE | {"Output": {"Object": "out/broken.${ext}"}})
    planned = PlannedStage(job_id, 0)
    work = os.environ["OUTPUT_BUCKET"]
    piece = next(u for u in planned.units if u["kind"] == "piece")
    boto3.client("s3").put_object(Bucket=work, Key=piece["input"]["key"], Body=b"\x00" * 1000)  # a piece got damaged
    _, joined = planned.run()
    job = get_job(job_id)
    assert job.State == "Failed" and job.Message and "missing" not in job.Message  # the piece's own reason
    assert joined and not any(answer["ok"] for answer in joined)
    finish(job_id, results=[], notify_queue_url=os.environ["NOTIFY_QUEUE_URL"])
    s3 = boto3.client("s3")
    assert "Contents" not in s3.list_objects_v2(Bucket=BUCKET, Prefix="out/broken")
    assert "Contents" not in s3.list_objects_v2(Bucket=work, Prefix=WORK_PREFIX)
