"""Under a small Lambda account concurrency (10), a burst of 30 MPS tasks of 4 units each all finish:
throttled Step Functions tasks are retried (Lambda.TooManyRequestsException), and the API, polled
all along, never answers 5xx (a throttled API function would be API Gateway's 5xx)."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import boto3
import pytest
from tencentcloud.common import credential
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.mps.v20190612 import models, mps_client

from support import free_port, make_video
from test_mps_sdk import request

pytestmark = [pytest.mark.e2e, pytest.mark.slow]  # 120 small ffmpeg units: about 90 s on two cores
ROOT = Path(__file__).resolve().parents[2]
TASKS, ACCOUNT_CONCURRENCY, UNIT_RESERVED, API_RESERVED = 30, 10, 6, 2
BUDGET = 900  # seconds for the burst to end


def test_a_burst_under_account_concurrency_10_all_succeeds_and_the_api_answers_throughout(tmp_path) -> None:
    port, api_port = free_port(), free_port()
    key_id, secret_key = "AKIDburst" + secrets.token_hex(8), secrets.token_urlsafe(30)
    # As on AWS: Unit's reservation caps the units, the API's keeps it answering, and the rest of the
    # account (here 2, over Lambda's minimum unreserved share of 1) runs Plan, Finish and the others.
    options = ["--account-concurrency", str(ACCOUNT_CONCURRENCY),
               "--parameter", f"UnitReservedConcurrency={UNIT_RESERVED}",
               "--parameter", f"ApiReservedConcurrency={API_RESERVED}"]
    template = ROOT / "template.yaml"
    log = tmp_path / "up.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "mediaflow.cli", "local", "up", "--port", str(port), "--stack", "burst",
         "--template", str(template), "--api-port", str(api_port), *options],
        cwd=ROOT, stdout=log.open("w"), stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1", "MEDIAFLOW_ACCESS_KEY_ID": key_id,
             "MEDIAFLOW_SECRET_ACCESS_KEY": secret_key})
    statuses: list[int] = []
    stop = threading.Event()
    try:
        deadline = time.monotonic() + 120
        while "is up" not in log.read_text():
            assert process.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.5)
        aws = dict(endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                   aws_access_key_id="testing", aws_secret_access_key="testing")
        outputs = {o["OutputKey"]: o["OutputValue"] for o in
                   boto3.client("cloudformation", **aws).describe_stacks(StackName="burst")["Stacks"][0]["Outputs"]}
        bucket, output_bucket = outputs["InputBucketName"], outputs["OutputBucketName"]
        boto3.client("s3", **aws).upload_file(str(make_video(tmp_path / "tiny.mp4", seconds=2, size="160x90")),
                                              bucket, "burst/tiny.mp4")

        api = f"http://127.0.0.1:{api_port}"

        def poll_api() -> None:  # an unsigned request still runs the API function: 4xx, never 5xx
            while not stop.is_set():
                try:
                    with urllib.request.urlopen(f"{api}/", timeout=60) as answer:
                        statuses.append(answer.status)
                except urllib.error.HTTPError as error:
                    statuses.append(error.code)
                time.sleep(0.2)

        poller = threading.Thread(target=poll_api, daemon=True)
        poller.start()
        mps = mps_client.MpsClient(credential.Credential(key_id, secret_key), "ap-guangzhou",
                                   ClientProfile(httpProfile=HttpProfile(protocol="http", endpoint=urlsplit(api).netloc)))
        params = {
            "InputInfo": {"Type": "COS", "CosInputInfo": {"Bucket": bucket, "Region": "us-east-1", "Object": "/burst/tiny.mp4"}},
            "OutputStorage": {"Type": "COS", "CosOutputStorage": {"Bucket": output_bucket, "Region": "us-east-1"}},
            "MediaProcessTask": {  # four units
                "SnapshotByTimeOffsetTaskSet": [{"Definition": 10, "ExtTimeOffsetSet": ["1s"]},
                                                {"Definition": 10, "ExtTimeOffsetSet": ["50%"]}],
                "AnimatedGraphicTaskSet": [{"Definition": 20000, "StartTimeOffset": 0, "EndTimeOffset": 1}],
                "TranscodeTaskSet": [{"Definition": 100010}],
            },
        }
        tasks = []
        for number in range(TASKS):
            params["OutputDir"] = f"/burst-out/{number}/"
            tasks.append(mps.ProcessMedia(request(models.ProcessMediaRequest, params)).TaskId)
        deadline = time.monotonic() + BUDGET
        pending = set(tasks)
        while pending and time.monotonic() < deadline:
            for task in list(pending):
                if mps.DescribeTaskDetail(request(models.DescribeTaskDetailRequest, {"TaskId": task})).Status == "FINISH":
                    pending.discard(task)
            time.sleep(2)
        assert not pending, f"{len(pending)} of {TASKS} tasks did not finish"
        for task in tasks:
            detail = mps.DescribeTaskDetail(request(models.DescribeTaskDetailRequest, {"TaskId": task}))
            results = detail.WorkflowTask.MediaProcessResultSet
            assert len(results) == 4
            for result in results:
                sub = (result.TranscodeTask or result.SnapshotByTimeOffsetTask or result.AnimatedGraphicTask)
                assert sub.Status == "SUCCESS", (task, result.Type, sub.ErrCode, sub.Message)
        print(f"API answers: {len(statuses)}; throttled invocations: {log.read_text().count('throttled ')}")
    finally:
        stop.set()
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
    assert statuses and max(statuses) < 500, sorted(set(statuses))
