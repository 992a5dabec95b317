"""The task catalogue through the whole stack, submitted with Tencent's COS SDK: every job runs in
Step Functions on the local stack and its outputs are probed. The e2e stack cuts inputs of 10 s or
more into 5 s pieces (SplitSeconds=5), so the 12 s transcode runs split-parallel."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from mediaflow.control.jobs import get_job
from mediaflow.media import probe
from support import make_video
from test_cos_sdk import as_list, cos, wait_for  # noqa: F401  (cos is a fixture)

pytestmark = pytest.mark.e2e
PREFIX = "catalogue/"


@pytest.fixture(scope="module")
def inputs(local_stack, tmp_path_factory) -> dict[str, str]:
    """A 12 s clip with a key frame every second, two short fragments, a logo; uploaded under PREFIX."""
    folder = tmp_path_factory.mktemp("catalogue")
    bucket = local_stack.outputs["InputBucketName"]
    s3 = local_stack.client("s3")
    long = folder / "long.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25:duration=12",
                    "-f", "lavfi", "-i", "sine=frequency=440:duration=12", "-c:v", "libx264", "-preset", "ultrafast",
                    "-g", "25", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(long)], check=True)
    logo = folder / "logo.png"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "color=c=red:size=64x64", "-frames:v", "1", str(logo)],
                   check=True)
    files = {"long": long, "intro": make_video(folder / "intro.mp4", seconds=2, size="320x240"),
             "outro": make_video(folder / "outro.mp4", seconds=1, size="640x360", audio=False), "logo": logo}
    for name, path in files.items():
        s3.upload_file(str(path), bucket, f"{PREFIX}{path.name}")
    return {name: f"{PREFIX}{path.name}" for name, path in files.items()}


def submit(cos, bucket: str, tag: str, operation: dict[str, Any], key: str) -> str:
    created = cos.ci_create_media_jobs(Bucket=bucket, Jobs={"Tag": tag, "Input": {"Object": key}, "Operation": operation}, Lst={})
    return as_list(created["JobsDetail"])[0]["JobId"]


def fetch(local_stack, key: str, folder: Path) -> Path:
    target = folder / key.replace("/", "_")
    local_stack.client("s3").download_file(local_stack.outputs["OutputBucketName"], key, str(target))
    return target


def test_the_catalogue_runs_on_the_stack(cos, local_stack, inputs, tmp_path) -> None:
    bucket = local_stack.outputs["InputBucketName"]
    video = {"Codec": "H.264", "Crf": "26", "Preset": "veryfast"}
    jobs = {
        "split": submit(cos, bucket, "Transcode", {"Transcode": {"Container": {"Format": "mp4"}, "Video": video},
                                                    "Output": {"Object": f"{PREFIX}out/split.${{ext}}"}}, inputs["long"]),
        "hls": submit(cos, bucket, "Transcode", {"Transcode": {"Container": {"Format": "hls"}, "Video": video | {"HlsTsTime": "4"}},
                                                  "Output": {"Object": f"{PREFIX}out/hls/video.${{ext}}"}}, inputs["long"]),
        "segment": submit(cos, bucket, "Segment", {"Segment": {"Format": "mp4", "Duration": "5"},
                                                   "Output": {"Object": f"{PREFIX}out/seg-${{Number}}.${{ext}}"}}, inputs["long"]),
        "concat": submit(cos, bucket, "Concat", {"ConcatTemplate": {
            "ConcatFragment": [{"Url": inputs["intro"], "Mode": "Start"}, {"Url": inputs["outro"], "Mode": "End"}],
            "Container": {"Format": "mp4"}, "Video": video}, "Output": {"Object": f"{PREFIX}out/joined.${{ext}}"}}, inputs["intro"]),
        "mediainfo": submit(cos, bucket, "MediaInfo", {}, inputs["long"]),
        "watermark": submit(cos, bucket, "Transcode", {
            "Transcode": {"Container": {"Format": "mp4"}, "Video": video},
            "Watermark": [{"Type": "Text", "Pos": "TopLeft", "Dx": "10", "Dy": "10", "Text": {"Text": "mediaflow", "FontSize": "30"}},
                          {"Type": "Image", "Pos": "BottomRight", "Image": {"Url": inputs["logo"], "Mode": "Original"}}],
            "Output": {"Object": f"{PREFIX}out/marked.${{ext}}"}}, inputs["long"]),
    }
    done = wait_for(lambda: all(get_job(j).State in ("Success", "Failed") for j in jobs.values()), timeout=240,
                    what="the catalogue's jobs")
    assert done
    states = {name: (get_job(j).State, get_job(j).Message) for name, j in jobs.items()}
    assert all(state == "Success" for state, _ in states.values()), states

    split = probe(str(fetch(local_stack, f"{PREFIX}out/split.mp4", tmp_path)))
    assert abs(split.duration - 12) <= 0.04 and split.video.CodecName == "h264" and split.audio is not None

    hls = get_job(jobs["hls"]).Operation.MediaResult["OutputFile"]["ObjectName"]
    assert hls[0] == f"{PREFIX}out/hls/video.m3u8" and len(hls) >= 4 and all(k.endswith(".ts") for k in hls[1:])

    segments = get_job(jobs["segment"]).Operation.MediaResult["OutputFile"]["ObjectName"]
    assert segments == [f"{PREFIX}out/seg-{i}.mp4" for i in range(len(segments))] and len(segments) in (2, 3)
    total = sum(probe(str(fetch(local_stack, key, tmp_path))).duration for key in segments)
    assert abs(total - 12) <= 0.1

    joined = probe(str(fetch(local_stack, f"{PREFIX}out/joined.mp4", tmp_path)))
    assert abs(joined.duration - 5) <= 0.1 and (joined.width, joined.height) == (320, 240)  # 2 + 2 + 1 s

    info = get_job(jobs["mediainfo"]).Operation.MediaInfo
    assert info["Format"]["Duration"].startswith("12") and info["Stream"]["Video"][0]["Width"] == "640"
    described = as_list(cos.ci_get_media_jobs(Bucket=bucket, JobIDs=jobs["mediainfo"])["JobsDetail"])[0]
    assert as_list(described["Operation"]["MediaInfo"]["Stream"]["Audio"])[0]["CodecName"] == "aac"

    marked = get_job(jobs["watermark"]).Operation.MediaResult["OutputFile"]
    assert marked["ObjectName"] == [f"{PREFIX}out/marked.mp4"] and marked["Md5Info"][0]["Md5"]
