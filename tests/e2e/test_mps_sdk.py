"""Tencent's MPS Python SDK (tencentcloud-sdk-python-mps), endpoint set to the local API, drives
ProcessMedia unchanged: a task id at once, DescribeTaskDetail until FINISH, real outputs."""

from __future__ import annotations

import hashlib
import json
import time
from urllib.parse import urlsplit

import pytest
from tencentcloud.common import credential
from tencentcloud.common.common_client import CommonClient
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.mps.v20190612 import models, mps_client

from mediaflow.media import probe
from support import make_phone_clip, make_video

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


def test_notify_mode_change_pushes_each_subtask_then_the_task_to_sqs_and_keeps_them_for_pulling(local_stack, tmp_path) -> None:
    bucket = local_stack.outputs["InputBucketName"]
    s3, sqs = local_stack.client("s3"), local_stack.client("sqs")
    s3.upload_file(str(make_video(tmp_path / "short.mp4", seconds=2, size="320x180")), bucket, "mps/short.mp4")
    events_url = sqs.create_queue(QueueName=f"mps-events-{time.time_ns()}")["QueueUrl"]
    params = {
        "InputInfo": {"Type": "COS", "CosInputInfo": {"Bucket": bucket, "Region": "us-east-1", "Object": "/mps/short.mp4"}},
        "OutputDir": "/mps-change/",
        "MediaProcessTask": {"TranscodeTaskSet": [{"Definition": 100010}],
                             "SnapshotByTimeOffsetTaskSet": [{"Definition": 10, "ExtTimeOffsetSet": ["1s"]}]},
        "TaskNotifyConfig": {"NotifyType": "AWS-SQS", "NotifyMode": "Change", "NotifyKey": "k3y",
                             "AwsSQS": {"SQSRegion": "us-east-1", "SQSQueueName": events_url.rsplit("/", 1)[1]}},
    }
    task_id = client(local_stack).ProcessMedia(request(models.ProcessMediaRequest, params)).TaskId

    events, deadline = {}, time.monotonic() + 120
    while not any(e["WorkflowTaskEvent"]["Status"] == "FINISH" for e in events.values()) and time.monotonic() < deadline:
        for message in sqs.receive_message(QueueUrl=events_url, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                                           MessageAttributeNames=["All"]).get("Messages", []):
            events[message["MessageAttributes"]["mediaflow-event-id"]["StringValue"]] = json.loads(message["Body"])
            sqs.delete_message(QueueUrl=events_url, ReceiptHandle=message["ReceiptHandle"])
    statuses = sorted(e["WorkflowTaskEvent"]["Status"] for e in events.values())
    assert statuses == ["FINISH", "PROCESSING", "PROCESSING"], statuses  # one per subtask as it ended, then the task
    for event in events.values():
        assert event["EventType"] == "WorkflowTask" and event["WorkflowTaskEvent"]["TaskId"] == task_id
        assert event["Sign"] == hashlib.md5(f"{event['Timestamp']}k3y".encode()).hexdigest()
    progress = [e for e in events.values() if e["WorkflowTaskEvent"]["Status"] == "PROCESSING"]
    done = {r["Type"] for e in progress for r in e["WorkflowTaskEvent"]["MediaProcessResultSet"]
            if next(iter(v for k, v in r.items() if k.endswith("Task")))["Status"] == "SUCCESS"}
    assert done == {"Transcode", "SnapshotByTimeOffset"}

    # the same events wait in the bucket's inbox until pulled and confirmed (VOD's reliable callback)
    common = CommonClient("mps", "2019-06-12", credential.Credential(local_stack.secret_id, local_stack.secret_key),
                          "ap-guangzhou", ClientProfile(httpProfile=HttpProfile(protocol="http",
                                                                                endpoint=urlsplit(local_stack.api_url).netloc)))
    pulled: dict[str, str] = {}
    for _ in range(20):
        batch = common.call_json("PullEvents", {"Bucket": bucket})["Response"]["EventSet"]
        if not batch:
            break
        pulled |= {e["EventId"]: e["EventHandle"] for e in batch}
        common.call_json("ConfirmEvents", {"Bucket": bucket, "EventHandles": [e["EventHandle"] for e in batch]})
    assert set(events) <= set(pulled)


SENTINEL = """<Request><MediaWorkflow><Name>sentinel</Name><Topology>
<Dependencies><Start>MediaInfo_1</Start><MediaInfo_1>End</MediaInfo_1></Dependencies>
<Nodes><Start><Type>Start</Type><Input><ObjectPrefix>wf-</ObjectPrefix></Input></Start>
<MediaInfo_1><Type>MediaInfo</Type></MediaInfo_1></Nodes></Topology></MediaWorkflow></Request>"""


def dispatched(workflow_id: str, key: str, timeout: float = 60) -> None:
    """Wait until the dispatcher has handled the upload of `key`: a COS workflow watching every key
    under wf- has a run for it (the dispatcher matches every workflow of the bucket in one pass)."""
    from mediaflow.models import Execution
    from mediaflow.persistence import store

    deadline = time.monotonic() + timeout
    while key not in {e.object for e in store.query_page("gsi2", f"WORKFLOW#{workflow_id}#RUNS", Execution,
                                                         size=100, ascending=True).items}:
        assert time.monotonic() < deadline, f"the upload of {key} was not dispatched"
        time.sleep(0.5)


def test_a_workflow_with_an_s3_trigger_runs_on_upload_only_while_enabled(local_stack, tmp_path) -> None:
    """CreateWorkflow (AWS-S3 trigger, Dir and Formats) is created Disabled; once enabled, an upload under
    Dir of an allowed format runs it as an MPS task whose outputs land under OutputDir and whose FINISH
    event reaches the URL, which ParseNotification parses; other uploads, and uploads while disabled,
    run nothing (each upload is known to have been dispatched before this is checked); an enabled
    workflow is not deleted, a disabled one is."""
    from mediaflow.control import workflows
    from mediaflow.local.demo import CallbackReceiver

    bucket = local_stack.outputs["InputBucketName"]
    s3, mps = local_stack.client("s3"), client(local_stack)
    clip = make_video(tmp_path / "clip.mp4", seconds=2, size="320x240", audio=False)
    receiver = CallbackReceiver()
    sentinel = workflows.create_workflow(bucket, workflows.parse_workflow_xml(SENTINEL)).WorkflowId
    try:
        params = {
            "WorkflowName": "s3-upload-flow",
            "Trigger": {"Type": "AWS-S3", "AwsS3FileUploadTrigger": {
                "S3Bucket": bucket, "S3Region": "us-east-1", "Dir": "/wf-in/", "Formats": ["mp4"],
                "S3SecretId": "AKIA-never-stored", "S3SecretKey": "never-stored"}},
            "OutputStorage": {"Type": "AWS-S3", "S3OutputStorage": {"S3Bucket": bucket, "S3Region": "us-east-1"}},
            "OutputDir": "/wf-out/",
            "MediaProcessTask": {"SnapshotByTimeOffsetTaskSet": [{"Definition": 10, "ExtTimeOffsetSet": ["1s"]}]},
            "TaskNotifyConfig": {"NotifyType": "URL", "NotifyUrl": receiver.url},
            "TaskPriority": 3,
        }
        workflow_id = mps.CreateWorkflow(request(models.CreateWorkflowRequest, params)).WorkflowId
        assert isinstance(workflow_id, int)
        info = mps.DescribeWorkflows(request(models.DescribeWorkflowsRequest, {"WorkflowIds": [workflow_id]}))
        assert info.TotalCount == 1 and info.WorkflowInfoSet[0].Status == "Disabled"
        assert "never-stored" not in info.to_json_string()

        s3.upload_file(str(clip), bucket, "wf-in/while-disabled.mp4")
        dispatched(sentinel, "wf-in/while-disabled.mp4")
        mps.EnableWorkflow(request(models.EnableWorkflowRequest, {"WorkflowId": workflow_id}))
        for key in ("wf-in/other-format.mov", "wf-elsewhere/outside-dir.mp4", "wf-in/sub/run-me.mp4"):
            s3.upload_file(str(clip), bucket, key)
            dispatched(sentinel, key)

        assert receiver.wait_for(lambda got: len(got) >= 1, timeout=120), "no WorkflowTask callback"
        content = receiver.received[0]["body"].decode()
        parsed = mps.ParseNotification(request(models.ParseNotificationRequest, {"Content": content}))
        assert parsed.EventType == "WorkflowTask"
        event = parsed.WorkflowTaskEvent
        assert event.Status == "FINISH" and event.ErrCode == 0, content
        assert event.InputInfo.S3InputInfo.S3Object == "/wf-in/sub/run-me.mp4"
        result = event.MediaProcessResultSet[0]
        assert result.Type == "SnapshotByTimeOffset" and result.SnapshotByTimeOffsetTask.Status == "SUCCESS"
        outputs = s3.list_objects_v2(Bucket=bucket, Prefix="wf-out/")["Contents"]
        assert all(o["Key"].startswith("wf-out/run-me") for o in outputs), outputs

        # Only that upload made a task: not the one before enabling, not the other format, not outside Dir.
        def task_inputs() -> list[str]:
            tasks = mps.DescribeTasks(request(models.DescribeTasksRequest, {"Limit": 100})).TaskSet
            inputs = [mps.DescribeTaskDetail(request(models.DescribeTaskDetailRequest, {"TaskId": t.TaskId}))
                      .WorkflowTask.InputInfo for t in tasks]
            return [i.S3InputInfo.S3Object for i in inputs if i.Type == "AWS-S3"]

        assert task_inputs().count("/wf-in/sub/run-me.mp4") == 1
        assert not {"/wf-in/while-disabled.mp4", "/wf-in/other-format.mov", "/wf-elsewhere/outside-dir.mp4"} & set(
            task_inputs())

        with pytest.raises(TencentCloudSDKException, match="disable it first"):
            mps.DeleteWorkflow(request(models.DeleteWorkflowRequest, {"WorkflowId": workflow_id}))
        mps.DisableWorkflow(request(models.DisableWorkflowRequest, {"WorkflowId": workflow_id}))
        s3.upload_file(str(clip), bucket, "wf-in/after-disable.mp4")
        dispatched(sentinel, "wf-in/after-disable.mp4")
        assert "/wf-in/after-disable.mp4" not in task_inputs() and len(receiver.received) == 1
        mps.DeleteWorkflow(request(models.DeleteWorkflowRequest, {"WorkflowId": workflow_id}))
        listed = mps.DescribeWorkflows(request(models.DescribeWorkflowsRequest, {"WorkflowIds": [workflow_id]}))
        assert listed.TotalCount == 0
    finally:
        workflows.delete_workflow(bucket, sentinel)
        receiver.stop()


def finished(mps: mps_client.MpsClient, task_id: str, timeout: float = 120) -> object:
    deadline = time.monotonic() + timeout
    while True:
        detail = mps.DescribeTaskDetail(request(models.DescribeTaskDetailRequest, {"TaskId": task_id}))
        if detail.Status == "FINISH":
            return detail
        assert time.monotonic() < deadline, f"task {task_id} is still {detail.Status}"
        time.sleep(0.5)


def test_a_custom_transcode_template_is_used_by_its_definition(local_stack, tmp_path) -> None:
    """CreateTranscodeTemplate with the SDK, then ProcessMedia by the Definition it returned: the output
    has the template's size and codec, on a phone-like clip (odd frame rate, no audio)."""
    bucket, s3, mps = local_stack.outputs["InputBucketName"], local_stack.client("s3"), client(local_stack)
    s3.upload_file(str(make_video(tmp_path / "phone.mp4", seconds=3, size="720x1280", rate=29, audio=False)),
                   bucket, "tpl/phone.mp4")
    created = mps.CreateTranscodeTemplate(request(models.CreateTranscodeTemplateRequest, {
        "Name": "vertical-small", "Container": "mp4",
        "VideoTemplate": {"Codec": "libx265", "Width": 0, "Height": 320, "Bitrate": 300, "Fps": 0},
        "AudioTemplate": {"Codec": "libfdk_aac", "Bitrate": 64, "SampleRate": 44100, "AudioChannel": 2}}))
    listed = mps.DescribeTranscodeTemplates(request(models.DescribeTranscodeTemplatesRequest,
                                                    {"Definitions": [created.Definition]}))
    assert listed.TranscodeTemplateSet[0].Type == "Custom" and listed.TranscodeTemplateSet[0].Name == "vertical-small"
    task_id = mps.ProcessMedia(request(models.ProcessMediaRequest, {
        "InputInfo": {"Type": "COS", "CosInputInfo": {"Bucket": bucket, "Region": "us-east-1", "Object": "/tpl/phone.mp4"}},
        "MediaProcessTask": {"TranscodeTaskSet": [{"Definition": created.Definition}]}})).TaskId
    output = finished(mps, task_id).WorkflowTask.MediaProcessResultSet[0].TranscodeTask.Output
    assert output.Path == f"/tpl/phone_transcode_{created.Definition}.mp4"
    local = tmp_path / "out.mp4"
    s3.download_file(bucket, output.Path.lstrip("/"), str(local))
    info = probe(str(local))
    assert (info.video.Width, info.video.Height, info.video.CodecName) == ("180", "320", "hevc")
    mps.DeleteTranscodeTemplate(request(models.DeleteTranscodeTemplateRequest, {"Definition": created.Definition}))


def frame_rgb(path, at: float = 1.0) -> tuple[bytes, int]:
    """One decoded frame as RGB bytes, and its width."""
    import subprocess

    from support import FFMPEG_BIN

    info = probe(str(path))
    raw = subprocess.run([str(FFMPEG_BIN / "ffmpeg"), "-v", "error", "-ss", str(at), "-i", str(path), "-frames:v", "1",
                          "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], check=True, capture_output=True).stdout
    return raw, int(info.video.Width)


def pixel(frame: tuple[bytes, int], x: int, y: int) -> tuple[int, ...]:
    raw, width = frame
    return tuple(raw[(y * width + x) * 3:(y * width + x) * 3 + 3])


def test_an_image_watermark_template_marks_a_transcode_where_it_says(local_stack, tmp_path) -> None:
    """CreateWatermarkTemplate (a green PNG, 64 px wide, 16 px from the top left), then ProcessMedia with a
    plain transcode and a watermarked one: the watermark's place is green in the marked output only, and
    the rest of the picture is the same in both."""
    import base64
    import subprocess

    from support import FFMPEG_BIN

    bucket, s3, mps = local_stack.outputs["InputBucketName"], local_stack.client("s3"), client(local_stack)
    s3.upload_file(str(make_video(tmp_path / "in.mp4", seconds=3, size="640x360")), bucket, "wm/in.mp4")
    green = tmp_path / "green.png"
    subprocess.run([str(FFMPEG_BIN / "ffmpeg"), "-v", "error", "-f", "lavfi", "-i", "color=c=0x00FF00:s=64x64",
                    "-frames:v", "1", str(green)], check=True)
    definition = mps.CreateWatermarkTemplate(request(models.CreateWatermarkTemplateRequest, {
        "Type": "image", "Name": "green-square", "CoordinateOrigin": "TopLeft", "XPos": "16px", "YPos": "16px",
        "ImageTemplate": {"ImageContent": base64.b64encode(green.read_bytes()).decode(), "Width": "64px"}})).Definition
    listed = mps.DescribeWatermarkTemplates(request(models.DescribeWatermarkTemplatesRequest,
                                                    {"Definitions": [definition]})).WatermarkTemplateSet
    assert (listed[0].Type, listed[0].Name, listed[0].XPos) == ("image", "green-square", "16px")
    task_id = mps.ProcessMedia(request(models.ProcessMediaRequest, {
        "InputInfo": {"Type": "COS", "CosInputInfo": {"Bucket": bucket, "Region": "us-east-1", "Object": "/wm/in.mp4"}},
        "MediaProcessTask": {"TranscodeTaskSet": [
            {"Definition": 100010, "OutputObjectPath": "/wm/plain"},
            {"Definition": 100010, "OutputObjectPath": "/wm/marked", "WatermarkSet": [{"Definition": definition}]}]}})).TaskId
    results = finished(mps, task_id).WorkflowTask.MediaProcessResultSet
    frames = {}
    for result in results:
        assert result.TranscodeTask.Status == "SUCCESS", result.TranscodeTask.Message
        path = result.TranscodeTask.Output.Path
        s3.download_file(bucket, path.lstrip("/"), str(tmp_path / path.rsplit("/", 1)[1]))
        frames[path.rsplit("/", 1)[1].split(".")[0]] = frame_rgb(tmp_path / path.rsplit("/", 1)[1])
    marked, plain = pixel(frames["marked"], 48, 48), pixel(frames["plain"], 48, 48)
    assert marked[1] > 200 and marked[0] < 60 and marked[2] < 60, marked  # green, where the watermark is
    assert sum(abs(a - b) for a, b in zip(marked, plain)) > 60, (marked, plain)
    for x, y in ((320, 200), (600, 300), (100, 20)):  # elsewhere (right of the mark too) the pictures agree
        assert sum(abs(a - b) for a, b in zip(pixel(frames["marked"], x, y), pixel(frames["plain"], x, y))) < 40, (x, y)
    mps.DeleteWatermarkTemplate(request(models.DeleteWatermarkTemplateRequest, {"Definition": definition}))


def test_head_tail_parameter_joins_an_intro_onto_the_transcode(local_stack, tmp_path) -> None:
    """A transcode with a 1 s intro in HeadSet: the output lasts the intro and the input, within a frame."""
    bucket, s3, mps = local_stack.outputs["InputBucketName"], local_stack.client("s3"), client(local_stack)
    s3.upload_file(str(make_video(tmp_path / "main.mp4", seconds=3, size="640x360")), bucket, "ht/main.mp4")
    s3.upload_file(str(make_video(tmp_path / "intro.mp4", seconds=1, size="320x240")), bucket, "ht/intro.mp4")
    task_id = mps.ProcessMedia(request(models.ProcessMediaRequest, {
        "InputInfo": {"Type": "COS", "CosInputInfo": {"Bucket": bucket, "Region": "us-east-1", "Object": "/ht/main.mp4"}},
        "MediaProcessTask": {"TranscodeTaskSet": [{"Definition": 100010, "HeadTailParameter": {"HeadSet": [
            {"Type": "COS", "CosInputInfo": {"Bucket": bucket, "Region": "us-east-1", "Object": "/ht/intro.mp4"}}]}}]}})).TaskId
    transcode = finished(mps, task_id).WorkflowTask.MediaProcessResultSet[0].TranscodeTask
    assert transcode.Status == "SUCCESS", transcode.Message
    local = tmp_path / "joined.mp4"
    s3.download_file(bucket, transcode.Output.Path.lstrip("/"), str(local))
    info = probe(str(local))
    assert abs(info.duration - 4.0) <= 1 / 25 + 1e-6, info.duration  # one frame at the output's 25 fps
    assert info.video.Width == "640"  # the preset's width; the height keeps the first part's aspect (the intro's)


def test_edit_media_joins_clips_of_two_files(local_stack, tmp_path) -> None:
    """EditMedia with a clip of each of two files: one output lasting the sum of the clips, within a
    frame; described and listed as an EditMediaTask."""
    bucket, s3, mps = local_stack.outputs["InputBucketName"], local_stack.client("s3"), client(local_stack)
    s3.upload_file(str(make_video(tmp_path / "a.mp4", seconds=4, size="640x360")), bucket, "edit/a.mp4")
    s3.upload_file(str(make_video(tmp_path / "b.mp4", seconds=3, size="640x360", rate=30)), bucket, "edit/b.mp4")
    task_id = mps.EditMedia(request(models.EditMediaRequest, {
        "FileInfos": [
            {"InputInfo": {"Type": "COS", "CosInputInfo": {"Bucket": bucket, "Region": "us-east-1", "Object": "/edit/a.mp4"}},
             "StartTimeOffset": 1, "EndTimeOffset": 3},
            {"InputInfo": {"Type": "AWS-S3", "S3InputInfo": {"S3Bucket": bucket, "S3Region": "us-east-1",
                                                             "S3Object": "/edit/b.mp4"}},
             "StartTimeOffset": 0.5, "EndTimeOffset": 2}],
        "OutputStorage": {"Type": "COS", "CosOutputStorage": {"Bucket": bucket, "Region": "us-east-1"}},
        "OutputObjectPath": "/edit/out/joined"})).TaskId
    detail = finished(mps, task_id)
    assert detail.TaskType == "EditMediaTask" and detail.EditMediaTask.Status == "FINISH", detail.to_json_string()
    edit = detail.EditMediaTask
    assert edit.ErrCode == 0 and edit.Output.Path == "/edit/out/joined.mp4" and len(edit.Input.FileInfoSet) == 2
    local = tmp_path / "joined.mp4"
    s3.download_file(bucket, "edit/out/joined.mp4", str(local))
    info = probe(str(local))
    fps = float(info.video.AvgFps.split("/")[0]) / float(info.video.AvgFps.split("/")[1])
    assert abs(info.duration - (2.0 + 1.5)) <= 1 / fps + 1e-6, (info.duration, fps)
    listed = mps.DescribeTasks(request(models.DescribeTasksRequest, {"Limit": 100})).TaskSet
    assert {t.TaskType for t in listed if t.TaskId == task_id} == {"EditMediaTask"}


def test_a_mosaic_set_blurs_only_its_region(local_stack, tmp_path) -> None:
    """ProcessMedia with a plain transcode and one with a MosaicSet region: inside the region the
    pictures differ, everywhere else they agree."""
    bucket, s3, mps = local_stack.outputs["InputBucketName"], local_stack.client("s3"), client(local_stack)
    s3.upload_file(str(make_video(tmp_path / "in.mp4", seconds=3, size="640x360")), bucket, "mosaic/in.mp4")
    task_id = mps.ProcessMedia(request(models.ProcessMediaRequest, {
        "InputInfo": {"Type": "COS", "CosInputInfo": {"Bucket": bucket, "Region": "us-east-1", "Object": "/mosaic/in.mp4"}},
        "MediaProcessTask": {"TranscodeTaskSet": [
            {"Definition": 100010, "OutputObjectPath": "/mosaic/plain"},
            {"Definition": 100010, "OutputObjectPath": "/mosaic/blurred", "MosaicSet": [
                {"CoordinateOrigin": "TopLeft", "XPos": "200px", "YPos": "100px", "Width": "160px", "Height": "120px"}]}]}})).TaskId
    frames = {}
    for result in finished(mps, task_id).WorkflowTask.MediaProcessResultSet:
        assert result.TranscodeTask.Status == "SUCCESS", result.TranscodeTask.Message
        name = result.TranscodeTask.Output.Path.rsplit("/", 1)[1]
        s3.download_file(bucket, f"mosaic/{name}", str(tmp_path / name))
        frames[name.split(".")[0]] = frame_rgb(tmp_path / name)

    def differ(x: int, y: int) -> int:
        return sum(abs(a - b) for a, b in zip(pixel(frames["blurred"], x, y), pixel(frames["plain"], x, y)))

    inside = [differ(x, y) for x in range(210, 350, 10) for y in range(110, 210, 10)]
    assert sum(d > 30 for d in inside) > len(inside) / 2, inside  # most of the region lost its detail
    outside = [differ(x, y) for x, y in ((20, 20), (600, 20), (100, 300), (600, 330), (380, 150), (190, 150))]
    assert max(outside) < 40, outside


def schedule_params(name: str, bucket: str, notify_url: str) -> dict:
    """input -> transcode -> snapshot of the transcode's output, and a sprite of the input in parallel."""
    return {
        "ScheduleName": name,
        "Trigger": {"Type": "CosFileUpload", "CosFileUploadTrigger": {"Bucket": bucket, "Region": "us-east-1",
                                                                      "Dir": "/sched-in/"}},
        "Activities": [
            {"ActivityType": "input", "ReardriveIndex": [1, 3]},
            {"ActivityType": "action-trans", "ReardriveIndex": [2],
             "ActivityPara": {"TranscodeTask": {"Definition": 100010}}},
            {"ActivityType": "action-snapshotByTimeOffset", "ReardriveIndex": [4],
             "ActivityPara": {"SnapshotByTimeOffsetTask": {"Definition": 10, "ExtTimeOffsetSet": ["1s"]}}},
            {"ActivityType": "action-image-sprite", "ReardriveIndex": [4],
             "ActivityPara": {"ImageSpriteTask": {"Definition": 10}}},
            {"ActivityType": "output"}],
        "OutputStorage": {"Type": "COS", "CosOutputStorage": {"Bucket": bucket, "Region": "us-east-1"}},
        "OutputDir": "/sched-out/",
        "TaskNotifyConfig": {"NotifyType": "URL", "NotifyUrl": notify_url}}


def test_a_schedule_runs_its_activities_in_graph_order_and_notifies_each(local_stack, tmp_path) -> None:
    """A schedule input -> transcode -> snapshot of the transcode's output, with a sprite of the input in
    parallel, run by ProcessMedia's ScheduleId: the snapshot starts after the transcode ended and has
    the transcode's picture size; a ScheduleTask event per activity and one at the end."""
    from mediaflow.local.demo import CallbackReceiver

    bucket, s3, mps = local_stack.outputs["InputBucketName"], local_stack.client("s3"), client(local_stack)
    s3.upload_file(str(make_video(tmp_path / "in.mp4", seconds=11, size="960x540")), bucket, "sched/in.mp4")
    receiver = CallbackReceiver()
    try:
        schedule_id = mps.CreateSchedule(request(models.CreateScheduleRequest,
                                                 schedule_params("trans-then-snap", bucket, receiver.url))).ScheduleId
        listed = mps.DescribeSchedules(request(models.DescribeSchedulesRequest, {"ScheduleIds": [schedule_id]}))
        assert listed.ScheduleInfoSet[0].Status == "Disabled" and len(listed.ScheduleInfoSet[0].Activities) == 5

        task_id = mps.ProcessMedia(request(models.ProcessMediaRequest, {
            "InputInfo": {"Type": "COS", "CosInputInfo": {"Bucket": bucket, "Region": "us-east-1", "Object": "/sched/in.mp4"}},
            "ScheduleId": schedule_id})).TaskId
        detail = finished(mps, task_id)
        assert detail.TaskType == "ScheduleTask", detail.to_json_string()
        results = {r.ActivityType: r.ActivityResItem for r in detail.ScheduleTask.ActivityResultSet}
        assert set(results) == {"action-trans", "action-snapshotByTimeOffset", "action-image-sprite"}
        transcode, snapshot = results["action-trans"].TranscodeTask, results["action-snapshotByTimeOffset"].SnapshotByTimeOffsetTask
        statuses = [transcode.Status, snapshot.Status, results["action-image-sprite"].ImageSpriteTask.Status]
        assert statuses == ["SUCCESS"] * 3, (statuses, snapshot.Message, results["action-image-sprite"].ImageSpriteTask.Message)
        picture = snapshot.Output.PicInfoSet[0].Path
        s3.download_file(bucket, picture.lstrip("/"), str(tmp_path / "snap.jpg"))
        assert (probe(str(tmp_path / "snap.jpg")).video.Width, transcode.Output.Width) == ("640", 640)  # of the transcode
        from mediaflow.control.jobs import get_execution, get_job

        jobs = {job.Tag + job.Workflow.Name: job for job in map(get_job, get_execution(task_id).job_ids)}
        assert jobs["SnapshotSnapshot_activity2"].StartTime >= jobs["TranscodeTranscode_activity1"].EndTime  # graph order

        assert receiver.wait_for(lambda got: len(got) >= 4, timeout=60), [
            (json.loads(c["body"])["ScheduleTaskEvent"]["Status"],
             [r["ActivityType"] for r in json.loads(c["body"])["ScheduleTaskEvent"]["ActivityResultSet"]
              if next(iter(r["ActivityResItem"].values()))["Status"] != "PROCESSING"]) for c in receiver.received]
        events = [json.loads(c["body"]) for c in receiver.received]
        assert {e["EventType"] for e in events} == {"ScheduleTask"} and len(events) == 4
        assert [e["ScheduleTaskEvent"]["Status"] for e in events].count("FINISH") == 1  # and one per activity
    finally:
        receiver.stop()


def new_task(mps: mps_client.MpsClient, known: set[str], timeout: float = 60) -> str:
    """The id of a task that DescribeTasks lists and `known` does not hold, once there is one."""
    deadline = time.monotonic() + timeout
    while True:
        listed = mps.DescribeTasks(request(models.DescribeTasksRequest, {"Limit": 100})).TaskSet
        fresh = [t.TaskId for t in listed if t.TaskId not in known]
        if fresh:
            return fresh[0]
        assert time.monotonic() < deadline, "no new task"
        time.sleep(0.5)


def test_an_upload_naming_a_schedule_runs_it_and_a_wrong_name_is_a_failed_task_notified(local_stack, tmp_path) -> None:
    """x-amz-meta-mediaflow-schedule on an upload, through the deployed Dispatcher: the named schedule
    (disabled, its trigger elsewhere) runs on the file with an event per activity and one at the end;
    a name that is no schedule gives a failed ScheduleTask, sent to the bucket's queue callback."""
    from mediaflow.control import queues
    from mediaflow.local.demo import CallbackReceiver

    bucket, s3, mps = local_stack.outputs["InputBucketName"], local_stack.client("s3"), client(local_stack)
    video = make_video(tmp_path / "phone.mp4", seconds=4, size="360x640", rate=29, audio=False)
    receiver = CallbackReceiver()
    external = local_stack.external_bucket
    media = queues.ensure_queues(external)["media"]
    rule = lambda url: {"Name": media.Name, "State": "Active", "NotifyConfig": (  # noqa: E731
        {"Url": url, "Event": "TaskFinish"} if url else {"State": "Off"})}
    try:
        mps.CreateSchedule(request(models.CreateScheduleRequest, schedule_params("at-upload", bucket, receiver.url)))
        known = {t.TaskId for t in mps.DescribeTasks(request(models.DescribeTasksRequest, {"Limit": 100})).TaskSet}
        s3.upload_file(str(video), bucket, "uploads/phone.mp4", ExtraArgs={"Metadata": {"mediaflow-schedule": "at-upload"}})
        task_id = new_task(mps, known)
        detail = finished(mps, task_id)
        assert detail.TaskType == "ScheduleTask" and detail.ScheduleTask.InputInfo.CosInputInfo.Object == "/uploads/phone.mp4"
        items = [next(v for v in json.loads(r.ActivityResItem.to_json_string()).values() if v)
                 for r in detail.ScheduleTask.ActivityResultSet]
        assert [item["Status"] for item in items] == ["SUCCESS"] * 3, [item.get("Message") for item in items]
        assert receiver.wait_for(lambda got: len(got) >= 4, timeout=60)  # one per activity and one at the end
        assert [json.loads(c["body"])["ScheduleTaskEvent"]["TaskId"] for c in receiver.received] == [task_id] * 4

        queues.update_queue(external, "media", media.QueueId, rule(receiver.url),
                            queue_url=local_stack.outputs["MediaQueueUrl"])
        known.add(task_id)
        s3.upload_file(str(video), external, "misnamed/phone.mp4", ExtraArgs={"Metadata": {"mediaflow-schedule": "at-uplaod"}})
        failed = new_task(mps, known)
        assert receiver.wait_for(lambda got: len(got) >= 5, timeout=60)
        parsed = mps.ParseNotification(request(models.ParseNotificationRequest,
                                               {"Content": receiver.received[4]["body"].decode()}))
        event = parsed.ScheduleTaskEvent
        assert (parsed.EventType, event.TaskId, event.Status, event.ErrCode) == ("ScheduleTask", failed, "FINISH", 40000)
        assert event.Message == "mediaflow-schedule: no schedule has the ScheduleId or ScheduleName 'at-uplaod'"
    finally:
        queues.update_queue(external, "media", media.QueueId, rule(None), queue_url=local_stack.outputs["MediaQueueUrl"])
        receiver.stop()


def test_describe_media_metadata_probes_a_phone_clip_where_it_is(local_stack, tmp_path) -> None:
    """DescribeMediaMetaData with the SDK: the API function invokes the Probe function (it has ffmpeg),
    which reads the object by a presigned URL; the phone clip's turn, rate and missing audio are reported."""
    bucket, s3, mps = local_stack.outputs["InputBucketName"], local_stack.client("s3"), client(local_stack)
    s3.upload_file(str(make_phone_clip(tmp_path / "phone.mp4")), bucket, "meta/phone.mp4")
    meta = mps.DescribeMediaMetaData(request(models.DescribeMediaMetaDataRequest, {"InputInfo": {
        "Type": "COS", "CosInputInfo": {"Bucket": bucket, "Region": "us-east-1", "Object": "/meta/phone.mp4"}}})).MetaData
    assert (meta.Width, meta.Height, meta.Rotate, meta.AudioStreamSet) == (640, 360, 90, [])
    assert meta.Duration == pytest.approx(4, abs=0.05) and meta.VideoStreamSet[0].FpsNumerator == 29
    s3.put_object(Bucket=bucket, Key="meta/notes.txt", Body=b"plain words")
    with pytest.raises(TencentCloudSDKException) as refused:
        mps.DescribeMediaMetaData(request(models.DescribeMediaMetaDataRequest, {"InputInfo": {
            "Type": "COS", "CosInputInfo": {"Bucket": bucket, "Region": "us-east-1", "Object": "/meta/notes.txt"}}}))
    assert refused.value.code == "InvalidMedia" and "not a media file" in refused.value.message
