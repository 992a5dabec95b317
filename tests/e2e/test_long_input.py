"""A longer, full-HD input through the whole stack (make test-slow)."""

from __future__ import annotations

from pathlib import Path

import pytest
import xmltodict
from mediaflow.control import workflows
from mediaflow.local.demo import DEMO_WORKFLOW, CallbackReceiver, is_workflow_finish
from mediaflow.media import probe
from support import make_video

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_one_minute_1080p_upload(local_stack, tmp_path: Path) -> None:
    source = make_video(tmp_path / "long.mp4", seconds=60, size="1920x1080", rate=30)
    receiver = CallbackReceiver()
    try:
        bucket, out_bucket = local_stack.outputs["InputBucketName"], local_stack.outputs["OutputBucketName"]
        workflows.create_workflow(bucket, workflows.parse_workflow_xml(DEMO_WORKFLOW.format(prefix="long/", callback=receiver.url)))
        local_stack.client("s3").upload_file(str(source), bucket, "long/long.mp4")
        assert receiver.wait_for(lambda r: any(is_workflow_finish(x) for x in r), timeout=900)
    finally:
        receiver.stop()
    finish = xmltodict.parse(next(r["body"] for r in receiver.received if is_workflow_finish(r)))
    assert finish["Response"]["WorkflowExecution"]["State"] == "Success"
    expected = probe(str(source)).duration
    for height in (360, 720):
        local = tmp_path / f"{height}.mp4"
        local_stack.client("s3").download_file(out_bucket, f"long/long_{height}p.mp4", str(local))
        info = probe(str(local))
        assert info.height == height and abs(info.duration - expected) <= 0.1
