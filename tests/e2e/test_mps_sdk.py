"""Tencent's MPS Python SDK (tencentcloud-sdk-python-mps), endpoint set to the local API, drives
ProcessMedia unchanged: a task id at once, DescribeTaskDetail until FINISH, real outputs."""

from __future__ import annotations

import json
import time
from urllib.parse import urlsplit

import pytest
from tencentcloud.common import credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.mps.v20190612 import models, mps_client

from mediaflow.media import probe
from support import make_video

pytestmark = pytest.mark.e2e


def client(local_stack, secret_key: str | None = None) -> mps_client.MpsClient:
    api = urlsplit(local_stack.api_url)
    profile = ClientProfile(httpProfile=HttpProfile(protocol="http", endpoint=api.netloc))
    return mps_client.MpsClient(credential.Credential(local_stack.secret_id, secret_key or local_stack.secret_key),
                                "ap-guangzhou", profile)


def request(cls: type, params: dict) -> object:
    req = cls()
    req.from_json_string(json.dumps(params))
    return req


def test_process_media_runs_to_finish_with_real_outputs(local_stack, tmp_path) -> None:
    bucket = local_stack.outputs["InputBucketName"]
    s3 = local_stack.client("s3")
    s3.upload_file(str(make_video(tmp_path / "talk.mp4", seconds=4, size="640x360")), bucket, "mps/talk.mp4")
    mps = client(local_stack)
    params = {
        "InputInfo": {"Type": "COS", "CosInputInfo": {"Bucket": bucket, "Region": "us-east-1", "Object": "/mps/talk.mp4"}},
        "OutputDir": "/mps-out/",
        "MediaProcessTask": {
            "TranscodeTaskSet": [{"Definition": 100010}],
            "SnapshotByTimeOffsetTaskSet": [{"Definition": 10, "ExtTimeOffsetSet": ["1s", "50%"]}],
            "AnimatedGraphicTaskSet": [{"Definition": 20000, "StartTimeOffset": 0, "EndTimeOffset": 2}],
        },
        "TasksPriority": 5, "SessionId": f"sdk-{time.time_ns()}", "SessionContext": "ctx-42",
    }
    task_id = mps.ProcessMedia(request(models.ProcessMediaRequest, params)).TaskId
    assert task_id.startswith("mediaflow-WorkflowTask-")
    # the same SessionId gives the same task, not a second one
    assert mps.ProcessMedia(request(models.ProcessMediaRequest, params)).TaskId == task_id

    deadline = time.monotonic() + 120
    while True:
        detail = mps.DescribeTaskDetail(request(models.DescribeTaskDetailRequest, {"TaskId": task_id}))
        if detail.Status == "FINISH" or time.monotonic() > deadline:
            break
        assert detail.Status in ("WAITING", "PROCESSING")
        time.sleep(0.5)
    assert detail.Status == "FINISH" and detail.SessionContext == "ctx-42" and detail.TasksPriority == 5
    results = {r.Type: r for r in detail.WorkflowTask.MediaProcessResultSet}
    assert set(results) == {"Transcode", "SnapshotByTimeOffset", "AnimatedGraphics"}
    transcode = results["Transcode"].TranscodeTask
    assert transcode.Status == "SUCCESS" and transcode.ErrCode == 0
    assert transcode.Output.Path == "/mps-out/talk_transcode_100010.mp4" and transcode.Output.Width == 640
    local = tmp_path / "out.mp4"
    s3.download_file(bucket, transcode.Output.Path.lstrip("/"), str(local))
    assert abs(probe(str(local)).duration - 4) < 0.5
    pictures = results["SnapshotByTimeOffset"].SnapshotByTimeOffsetTask.Output.PicInfoSet
    assert len(pictures) == 2
    for picture in pictures:
        assert s3.head_object(Bucket=bucket, Key=picture.Path.lstrip("/"))["ContentLength"] > 0
    gif = results["AnimatedGraphics"].AnimatedGraphicTask.Output
    assert s3.get_object(Bucket=bucket, Key=gif.Path.lstrip("/"))["Body"].read(3) == b"GIF"

    listed = mps.DescribeTasks(request(models.DescribeTasksRequest, {"Status": "FINISH", "Limit": 100}))
    assert task_id in {t.TaskId for t in listed.TaskSet}


def test_a_bad_request_and_a_wrong_key_are_refused(local_stack) -> None:
    mps = client(local_stack)
    with pytest.raises(TencentCloudSDKException) as bad:
        mps.ProcessMedia(request(models.ProcessMediaRequest, {
            "InputInfo": {"Type": "COS", "CosInputInfo": {"Bucket": "b", "Region": "r", "Object": "/a.mp4"}},
            "MediaProcessTask": {"TranscodeTaskSet": [{"Definition": 99}]}}))
    assert bad.value.code == "InvalidParameterValue" and "Definition" in bad.value.message
    with pytest.raises(TencentCloudSDKException) as denied:
        client(local_stack, secret_key="wrong").DescribeTasks(request(models.DescribeTasksRequest, {}))
    # refused with HTTP 403, which the SDK reports as a network-level error carrying the body
    assert denied.value.code == "ServerNetworkError" and b"AuthFailure.SignatureFailure" in denied.value.message
