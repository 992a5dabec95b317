"""The MPS JSON face: ProcessMedia requests built with Tencent's own SDK are planned into our jobs,
and our records render into bodies that the SDK parses without a warning."""

import hashlib
import json
import warnings
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from mediaflow.control.templates import OFFICIAL, build_operation
from mediaflow.exceptions import InvalidInputError
from mediaflow.faces.mps import plan as mps_plan
from mediaflow.faces.mps import presets as mps_presets
from mediaflow.models import Execution, Job, NotifyConfig
from mediaflow.shapes import mps
from tencentcloud.mps.v20190612 import models as sdk

pytestmark = pytest.mark.unit

MP4_HD = "t02d06d8ad881648e69f9ca95b2e7e4b6a"
COS_INPUT = {"Type": "COS", "CosInputInfo": {"Bucket": "in-1250000000", "Region": "ap-guangzhou", "Object": "/a/b.mp4"}}
NOW = datetime(2026, 11, 23, 8, 0, 0, tzinfo=timezone.utc)


def sdk_json(body: dict[str, Any]) -> dict[str, Any]:
    """The JSON the SDK sends for `body`: every field it knows, unset ones as null."""
    request = sdk.ProcessMediaRequest()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a field name the SDK does not know is a mistake in the test
        request._deserialize(body)
    return json.loads(request.to_json_string())


def plan(**fields: Any) -> mps_plan.TaskPlan:
    body = {"InputInfo": COS_INPUT, "MediaProcessTask": {"TranscodeTaskSet": [{"Definition": 100030}]}} | fields
    return mps_plan.plan_task(sdk_json(body))


def refused(**fields: Any) -> InvalidInputError:
    with pytest.raises(InvalidInputError) as caught:
        plan(**fields)
    return caught.value


# ------------------------------------------------------------------ inputs and outputs
def test_cos_input_defaults() -> None:
    result = plan()
    assert (result.input_type, result.bucket, result.key, result.region) == ("COS", "in-1250000000", "a/b.mp4", "ap-guangzhou")
    assert result.url is None
    assert (result.output_type, result.output_bucket, result.output_region) == ("COS", None, None)
    assert result.output_dir == "a/"  # the input's own directory
    [subtask] = result.subtasks
    set_type, index, tag, operation, definition = subtask
    assert (set_type, index, tag, definition) == ("Transcode", 0, "Transcode", 100030)
    assert operation == {"TemplateId": MP4_HD, "Output": {"Object": "a/${InputName}_transcode_100030.${ext}"},
                         "JobLevel": 0}
    assert result.priority == 0 and result.notify is None
    assert result.session_id == "" and result.session_context == ""
    assert result.input_info == COS_INPUT


def test_request_built_by_attribute_setting() -> None:
    request = sdk.ProcessMediaRequest()
    request.InputInfo = sdk.MediaInputInfo()
    request.InputInfo.Type = "COS"
    request.InputInfo.CosInputInfo = sdk.CosInputInfo()
    request.InputInfo.CosInputInfo.Bucket = "in-1250000000"
    request.InputInfo.CosInputInfo.Region = "ap-guangzhou"
    request.InputInfo.CosInputInfo.Object = "/top.mov"
    task = sdk.TranscodeTaskInput()
    task.Definition = 100010
    request.MediaProcessTask = sdk.MediaProcessTaskInput()
    request.MediaProcessTask.TranscodeTaskSet = [task]
    request.TasksPriority = 7
    result = mps_plan.plan_task(json.loads(request.to_json_string()))
    assert result.key == "top.mov" and result.output_dir == ""
    assert result.subtasks[0].operation["TemplateId"] == "t02db40900dc1c43ad9bdbd8acec6075c5"
    assert result.subtasks[0].operation["Output"]["Object"] == "${InputName}_transcode_100010.${ext}"
    assert result.priority == 7
    assert result.subtasks[0].operation["JobLevel"] == 2  # CI's JobLevel range is 0..2


def test_aws_s3_input_and_output_storage() -> None:
    s3_input = {"Type": "AWS-S3", "S3InputInfo": {"S3Bucket": "media-in", "S3Region": "us-east-1",
                                                    "S3Object": "/v/clip.mov", "S3SecretId": "AKID", "S3SecretKey": "sk"}}
    storage = {"Type": "AWS-S3", "S3OutputStorage": {"S3Bucket": "media-out", "S3Region": "us-east-1",
                                                      "S3SecretKey": "sk"}}
    result = plan(InputInfo=s3_input, OutputStorage=storage, OutputDir="/out/")
    assert (result.input_type, result.bucket, result.key, result.region) == ("AWS-S3", "media-in", "v/clip.mov", "us-east-1")
    assert (result.output_type, result.output_bucket, result.output_region) == ("AWS-S3", "media-out", "us-east-1")
    assert result.subtasks[0].operation["Output"] == {"Bucket": "media-out", "Region": "us-east-1",
                                                      "Object": "out/${InputName}_transcode_100030.${ext}"}
    # secrets are never kept
    assert "S3SecretId" not in json.dumps(result.input_info) and "S3SecretKey" not in json.dumps(result.input_info)


def test_url_input_needs_output_storage() -> None:
    url_input = {"Type": "URL", "UrlInputInfo": {"Url": "https://media.example.com/path/My%20Clip.mp4?sig=1"}}
    error = refused(InputInfo=url_input)
    assert error.message.startswith("OutputStorage:") and error.code == "MissingParameter"

    storage = {"Type": "COS", "CosOutputStorage": {"Bucket": "out-1250000000", "Region": "ap-guangzhou"}}
    result = plan(InputInfo=url_input, OutputStorage=storage)
    assert result.input_type == "URL" and result.url == url_input["UrlInputInfo"]["Url"]
    assert result.bucket is None and result.key is None
    assert (result.output_bucket, result.output_region, result.output_dir) == ("out-1250000000", "ap-guangzhou", "")
    assert result.url_name == "My Clip.mp4"


def test_url_input_must_be_http() -> None:
    error = refused(InputInfo={"Type": "URL", "UrlInputInfo": {"Url": "file:///etc/passwd"}},
                    OutputStorage={"Type": "COS", "CosOutputStorage": {"Bucket": "b", "Region": "r"}})
    assert error.message.startswith("InputInfo.UrlInputInfo.Url:")


def test_missing_input_details_named() -> None:
    error = refused(InputInfo={"Type": "COS"})
    assert error.message.startswith("InputInfo.CosInputInfo:") and error.code == "MissingParameter"
    error = refused(InputInfo={"Type": "VOD"})
    assert error.message.startswith("InputInfo.Type:") and error.code == "InvalidParameterValue"


def test_per_task_output_storage_inherits_empty_fields() -> None:
    storage = {"Type": "COS", "CosOutputStorage": {"Bucket": "out-1", "Region": "ap-beijing"}}
    tasks = {"TranscodeTaskSet": [{"Definition": 100010},
                                  {"Definition": 100020, "OutputStorage": {"Type": "COS", "CosOutputStorage": {"Bucket": "other-2"}}}]}
    result = plan(OutputStorage=storage, MediaProcessTask=tasks)
    outputs = [s.operation["Output"] for s in result.subtasks]
    assert (outputs[0]["Bucket"], outputs[0]["Region"]) == ("out-1", "ap-beijing")
    assert (outputs[1]["Bucket"], outputs[1]["Region"]) == ("other-2", "ap-beijing")


# ------------------------------------------------------------------ task sets
def test_output_object_path_wins() -> None:
    tasks = {"TranscodeTaskSet": [{"Definition": 100030, "OutputObjectPath": "/abs/{inputName}_{definition}.{format}"},
                                  {"Definition": 100040, "OutputObjectPath": "rel/{inputName}.{format}"}]}
    result = plan(MediaProcessTask=tasks, OutputDir="/out/")
    assert [s.operation["Output"]["Object"] for s in result.subtasks] == [
        "abs/${InputName}_100030.${ext}", "out/rel/${InputName}.${ext}"]


def test_transcode_cut_spells_out_the_preset() -> None:
    tasks = {"TranscodeTaskSet": [{"Definition": 100030, "StartTimeOffset": 1.5, "EndTimeOffset": 6.7}]}
    operation = plan(MediaProcessTask=tasks).subtasks[0].operation
    assert "TemplateId" not in operation
    assert operation["Transcode"] == OFFICIAL[MP4_HD][2] | {"TimeInterval": {"Start": "1.5", "Duration": "5.2"}}


@pytest.mark.parametrize(("start", "end", "field"), [(-5, None, "StartTimeOffset"), (4, 2, "EndTimeOffset")])
def test_transcode_cut_refused(start: float, end: float | None, field: str) -> None:
    tasks = {"TranscodeTaskSet": [{"Definition": 100030, "StartTimeOffset": start, "EndTimeOffset": end}]}
    assert refused(MediaProcessTask=tasks).message.startswith(f"MediaProcessTask.TranscodeTaskSet[0].{field}:")


def test_transcode_operations_build() -> None:
    """Our own build_operation accepts what the plan makes (template and cut alike)."""
    tasks = {"TranscodeTaskSet": [{"Definition": 100030}, {"Definition": 100070, "EndTimeOffset": 3}]}
    for subtask in plan(MediaProcessTask=tasks).subtasks:
        operation = build_operation(subtask.tag, subtask.operation, default_bucket="in-1250000000",
                                    default_region="ap-guangzhou")
        assert operation.Output.Bucket == "in-1250000000"
        assert operation.Transcode is not None and operation.Transcode.Container.Format == "mp4"
    assert operation.Transcode.TimeInterval.Duration == 3 and operation.TemplateId is None


def test_every_preset_builds() -> None:
    """Every Definition of the table gives parameters that build_operation accepts."""
    tasks = {kind.field: [{"Definition": d} for d in mps_presets.DEFINITIONS[kind.type]] for kind in mps.SET_KINDS}
    tasks["SnapshotByTimeOffsetTaskSet"][0]["ExtTimeOffsetSet"] = ["1s"]
    tasks["AnimatedGraphicTaskSet"][0] |= {"StartTimeOffset": 1, "EndTimeOffset": 3}
    subtasks = plan(MediaProcessTask=tasks).subtasks
    assert len(subtasks) == sum(len(table) for table in mps_presets.DEFINITIONS.values())
    for subtask in subtasks:
        operation = build_operation(subtask.tag, subtask.operation, default_bucket="b", default_region="r")
        assert operation.Output.Object == subtask.operation["Output"]["Object"]
        if subtask.set_type == "ImageSprites":
            assert operation.Snapshot.wants_sprites and not operation.Snapshot.wants_snapshots
            assert operation.Output.SpriteObject == subtask.operation["Output"]["SpriteObject"]
        if subtask.set_type == "AnimatedGraphics":
            assert operation.Animation.TimeInterval.Duration == 2


def test_snapshot_by_time_offset() -> None:
    tasks = {"SnapshotByTimeOffsetTaskSet": [{"Definition": 10, "ExtTimeOffsetSet": ["3.5s", "10%"]},
                                             {"Definition": 10, "TimeOffsetSet": [1, 2.25]}]}
    first, second = plan(MediaProcessTask=tasks).subtasks
    assert (first.set_type, first.tag, first.index, second.index) == ("SnapshotByTimeOffset", "Snapshot", 0, 1)
    assert first.operation["Snapshot"] == {"Mode": "Interval", "Format": "jpg", "ExtTimeOffsetSet": ["3.5s", "10%"]}
    assert first.operation["Output"]["Object"] == "a/${InputName}_snapshotByTimeOffset_10_${Number}.${ext}"
    assert second.operation["Snapshot"]["ExtTimeOffsetSet"] == ["1s", "2.25s"]


@pytest.mark.parametrize("points", [["3.5"], ["150%"], ["-1s"]])
def test_bad_time_points(points: list[str]) -> None:
    tasks = {"SnapshotByTimeOffsetTaskSet": [{"Definition": 10, "ExtTimeOffsetSet": points}]}
    assert refused(MediaProcessTask=tasks).message.startswith(
        "MediaProcessTask.SnapshotByTimeOffsetTaskSet[0].ExtTimeOffsetSet:")


def test_time_points_required() -> None:
    error = refused(MediaProcessTask={"SnapshotByTimeOffsetTaskSet": [{"Definition": 10}]})
    assert error.message.startswith("MediaProcessTask.SnapshotByTimeOffsetTaskSet[0].ExtTimeOffsetSet:")


def test_sample_snapshot() -> None:
    [subtask] = plan(MediaProcessTask={"SampleSnapshotTaskSet": [{"Definition": 10}]}).subtasks
    assert (subtask.set_type, subtask.tag) == ("SampleSnapshot", "Snapshot")
    assert subtask.operation["Snapshot"] == {"Mode": "Average", "Start": "0", "Count": "10", "Format": "jpg"}
    assert subtask.operation["Output"]["Object"] == "a/${InputName}_sampleSnapshot_10_${Number}.${ext}"


def test_animated_graphic() -> None:
    tasks = {"AnimatedGraphicTaskSet": [{"Definition": 20000, "StartTimeOffset": 0, "EndTimeOffset": 5}]}
    [subtask] = plan(MediaProcessTask=tasks).subtasks
    assert (subtask.set_type, subtask.tag) == ("AnimatedGraphics", "Animation")
    animation = subtask.operation["Animation"]
    assert animation["Container"] == {"Format": "gif"}
    assert animation["Video"]["Width"] == "320" and animation["Video"]["Fps"] == "15"
    assert animation["TimeInterval"] == {"Start": "0", "Duration": "5"}
    assert subtask.operation["Output"]["Object"] == "a/${InputName}_animatedGraphic_20000.${ext}"


def test_image_sprite() -> None:
    [subtask] = plan(MediaProcessTask={"ImageSpriteTaskSet": [{"Definition": 10}]}).subtasks
    assert (subtask.set_type, subtask.tag) == ("ImageSprites", "Snapshot")
    snapshot = subtask.operation["Snapshot"]
    assert snapshot["SnapshotOutMode"] == "OnlySprite" and snapshot["TimeInterval"] == "10"
    assert snapshot["SpriteSnapshotConfig"] | {} == {"CellWidth": "142", "CellHeight": "80", "Padding": "0", "Margin": "0",
                                                     "Color": "black", "Columns": "10", "Lines": "10"}
    assert subtask.operation["Output"] == {"Object": "a/${InputName}_imageSprite_10.vtt",
                                           "SpriteObject": "a/${InputName}_imageSprite_10_${Number}.${ext}"}
    tasks = {"ImageSpriteTaskSet": [{"Definition": 10, "WebVttObjectName": "thumbs/{inputName}.{format}"}]}
    assert plan(MediaProcessTask=tasks).subtasks[0].operation["Output"]["Object"] == "a/thumbs/${InputName}.vtt"


def test_sets_in_sdk_order() -> None:
    tasks = {"ImageSpriteTaskSet": [{"Definition": 10}], "TranscodeTaskSet": [{"Definition": 100010}],
             "SampleSnapshotTaskSet": [{"Definition": 10}], "AnimatedGraphicTaskSet": [{"Definition": 20000}],
             "SnapshotByTimeOffsetTaskSet": [{"Definition": 10, "ExtTimeOffsetSet": ["1s"]}]}
    result = plan(MediaProcessTask=tasks)
    assert [s.set_type for s in result.subtasks] == ["Transcode", "AnimatedGraphics", "SnapshotByTimeOffset",
                                                     "SampleSnapshot", "ImageSprites"]
    assert [r.Type for r in result.refs] == [s.set_type for s in result.subtasks]


# ------------------------------------------------------------------ refusals
@pytest.mark.parametrize(
    ("field", "task"),
    [("TranscodeTaskSet", {"Definition": 99}), ("SampleSnapshotTaskSet", {"Definition": 20}),
     ("AnimatedGraphicTaskSet", {"Definition": 10}), ("ImageSpriteTaskSet", {"Definition": 20000})],
)
def test_unknown_definition(field: str, task: dict[str, Any]) -> None:
    tasks = {"TranscodeTaskSet": [{"Definition": 100010}]} | {field: [{"Definition": DEFAULTS[field]}, task]}
    error = refused(MediaProcessTask=tasks)
    assert error.message.startswith(f"MediaProcessTask.{field}[1].Definition:")
    assert error.code == "InvalidParameterValue"


DEFAULTS = {"TranscodeTaskSet": 100010, "SampleSnapshotTaskSet": 10, "AnimatedGraphicTaskSet": 20000,
            "ImageSpriteTaskSet": 10}


def test_bad_priority() -> None:
    error = refused(TasksPriority=11)
    assert error.message.startswith("TasksPriority:") and error.code == "InvalidParameterValue"


@pytest.mark.parametrize("output_dir", ["out/", "/out", "out"])
def test_bad_output_dir(output_dir: str) -> None:
    assert refused(OutputDir=output_dir).message.startswith("OutputDir:")


@pytest.mark.parametrize("tasks", [None, {}, {"TranscodeTaskSet": []}])
def test_no_task(tasks: dict[str, Any] | None) -> None:
    error = refused(MediaProcessTask=tasks)
    assert error.message.startswith("MediaProcessTask:")


def test_too_many_subtasks() -> None:
    tasks = {"TranscodeTaskSet": [{"Definition": 100010}] * 15, "SampleSnapshotTaskSet": [{"Definition": 10}] * 6}
    assert "at most 20" in refused(MediaProcessTask=tasks).message


def test_session_limits() -> None:
    assert refused(SessionContext="x" * 1001).message.startswith("SessionContext:")
    assert refused(SessionId="x" * 51).message.startswith("SessionId:")
    result = plan(SessionId="dedupe-123", SessionContext="x" * 1000)
    assert result.session_id == "dedupe-123" and len(result.session_context) == 1000


def test_wrong_type_is_invalid_parameter() -> None:
    body = sdk_json({"InputInfo": COS_INPUT, "MediaProcessTask": {"TranscodeTaskSet": [{"Definition": 100030}]}})
    body["TasksPriority"] = "high"
    with pytest.raises(InvalidInputError) as caught:
        mps_plan.plan_task(body)
    assert caught.value.code == "InvalidParameter" and caught.value.message.startswith("TasksPriority:")


def test_unsupported_features_refused() -> None:
    watermark = {"TranscodeTaskSet": [{"Definition": 100030, "WatermarkSet": [{"Definition": 1}]}]}
    assert refused(MediaProcessTask=watermark).message == (
        "MediaProcessTask.TranscodeTaskSet[0].WatermarkSet[0].Definition: 1 is not a watermark template")
    on_a_snapshot = {"SampleSnapshotTaskSet": [{"Definition": 10, "WatermarkSet": [{"Definition": 1}]}]}
    assert refused(MediaProcessTask=on_a_snapshot).message.startswith(
        "MediaProcessTask.SampleSnapshotTaskSet[0].WatermarkSet: not supported")
    blind = {"TranscodeTaskSet": [{"Definition": 100030, "BlindWatermark": {"Definition": 1}}]}
    assert refused(MediaProcessTask=blind).message.startswith("MediaProcessTask.TranscodeTaskSet[0].BlindWatermark:")


def test_a_mosaic_spells_the_transcode_out_with_its_regions() -> None:
    task = {"TranscodeTaskSet": [{"Definition": 100010, "MosaicSet": [
        {"CoordinateOrigin": "TopRight", "XPos": "5%", "YPos": "8px", "Width": "64px", "Height": "20%",
         "StartTimeOffset": 1, "EndTimeOffset": 3}]}]}
    (subtask,) = plan(MediaProcessTask=task).subtasks
    params = subtask.operation["Transcode"]
    assert "TemplateId" not in subtask.operation and params["Container"]["Format"] == "mp4"
    assert params["Mosaic"] == [{"CoordinateOrigin": "TopRight", "XPos": "5%", "YPos": "8px", "Width": "64px",
                                 "Height": "20%", "StartTime": 1, "EndTime": 3}]
    assert refused(AiAnalysisTask={"Definition": 10}).message.startswith("AiAnalysisTask:")


def test_a_transcode_with_intros_and_outros_is_a_join_of_the_input_bucket_objects() -> None:
    head = {"Type": "COS", "CosInputInfo": {"Bucket": "in-1250000000", "Region": "ap-guangzhou", "Object": "/intro.mp4"}}
    tail = {"Type": "AWS-S3", "S3InputInfo": {"S3Bucket": "in-1250000000", "S3Region": "ap-guangzhou", "S3Object": "/end.mp4"}}
    task = {"TranscodeTaskSet": [{"Definition": 100020, "HeadTailParameter": {"HeadSet": [head], "TailSet": [tail]}}]}
    (subtask,) = plan(MediaProcessTask=task).subtasks
    join = subtask.operation["ConcatTemplate"]
    assert subtask.tag == "Concat" and subtask.set_type == "Transcode"
    assert join["ConcatFragment"] == [{"Url": "intro.mp4", "Mode": "Start"}, {"Url": "end.mp4", "Mode": "End"}]
    assert join["Video"]["Width"] == "720" and join["Container"]["Format"] == "mp4"  # MP4-SD's encoding
    elsewhere = {"Type": "COS", "CosInputInfo": {"Bucket": "other-1250000000", "Region": "ap-guangzhou", "Object": "/x.mp4"}}
    task["TranscodeTaskSet"][0]["HeadTailParameter"] = {"HeadSet": [elsewhere]}
    assert "must be an object of the input's bucket" in refused(MediaProcessTask=task).message
    task["TranscodeTaskSet"][0] |= {"HeadTailParameter": {"TailSet": [tail]}, "StartTimeOffset": 1}
    assert "cannot be combined" in refused(MediaProcessTask=task).message


# ------------------------------------------------------------------ notifications config
def test_url_notification() -> None:
    config = {"NotifyType": "URL", "NotifyUrl": "https://cb.example.com/mps", "NotifyMode": "Change", "NotifyKey": "k"}
    result = plan(TaskNotifyConfig=config)
    assert result.notify == NotifyConfig(State="On", Type="Url", Url="https://cb.example.com/mps",
                                         Event="TaskFinish,WorkflowFinish", ResultFormat="JSON")
    assert (result.notify_type, result.notify_mode, result.notify_key) == ("URL", "Change", "k")
    assert result.notify_info == {"NotifyType": "URL", "NotifyUrl": "https://cb.example.com/mps", "NotifyMode": "Change"}
    assert refused(TaskNotifyConfig={"NotifyType": "URL"}).message.startswith("TaskNotifyConfig.NotifyUrl:")


def test_queue_notifications() -> None:
    sqs = plan(TaskNotifyConfig={"NotifyType": "AWS-SQS", "AwsSQS": {"SQSRegion": "us-east-1", "SQSQueueName": "done"}})
    assert (sqs.notify.Type, sqs.notify.MqMode, sqs.notify.MqRegion, sqs.notify.MqName) == ("TDMQ", "Queue", "us-east-1", "done")
    topic = plan(TaskNotifyConfig={"NotifyType": "TDMQ-CMQ", "CmqModel": "Topic", "CmqRegion": "gz", "TopicName": "t"})
    assert (topic.notify.MqMode, topic.notify.MqName) == ("Topic", "t")
    assert refused(TaskNotifyConfig={"NotifyType": "SCF"}).message.startswith("TaskNotifyConfig.NotifyType:")


# ------------------------------------------------------------------ task ids
def test_task_id() -> None:
    value = mps.task_id("0123456789abcdef0123456789abcdef")
    assert value == "mediaflow-WorkflowTask-0123456789abcdef0123456789abcdeft0"
    assert mps.is_task_id(value) and len(value) <= 80
    assert mps.is_task_id(mps.task_id()) and mps.task_id() != mps.task_id()
    assert not mps.is_task_id("j0123456789abcdef0123456789abcdef") and not mps.is_task_id(None)
    with pytest.raises(ValueError):
        mps.task_id("xyz")


# ------------------------------------------------------------------ rendering
ALL_TASKS = {
    "TranscodeTaskSet": [{"Definition": 100030}],
    "AnimatedGraphicTaskSet": [{"Definition": 20000, "StartTimeOffset": 1, "EndTimeOffset": 4}],
    "SnapshotByTimeOffsetTaskSet": [{"Definition": 10, "ExtTimeOffsetSet": ["1.5s", "50%"]}],
    "SampleSnapshotTaskSet": [{"Definition": 10}],
    "ImageSpriteTaskSet": [{"Definition": 10}],
}
TASK_ID = "mediaflow-WorkflowTask-" + "ab" * 16 + "t0"


def media_info(width: int, height: int, *, kbps: str = "834.000000", size: str = "417000",
               fmt: str = "mov,mp4,m4a,3gp,3g2,mj2") -> dict[str, Any]:
    return {
        "Format": {"Bitrate": kbps, "Duration": "4.000000", "FormatName": fmt, "Size": size, "NumStream": "2"},
        "Stream": {
            "Video": [{"Index": "0", "CodecName": "h264", "Width": str(width), "Height": str(height),
                       "Fps": "25.000000", "Bitrate": "700.000000"}],
            "Audio": [{"Index": "1", "CodecName": "aac", "SampleRate": "44100", "Channel": "2", "Bitrate": "128.000000"}],
        },
    }


def media_result(*keys: str, bucket: str = "in-1250000000") -> dict[str, Any]:
    return {"OutputFile": {"Bucket": bucket, "Region": "ap-guangzhou", "ObjectPrefix": "", "ObjectName": list(keys),
                           "Md5Info": [{"Md5": hashlib.md5(k.encode()).hexdigest(), "ObjectName": k} for k in keys]}}


RESULTS = {  # set type -> (MediaResult, MediaInfo) of a finished job
    "Transcode": (media_result("a/b_transcode_100030.mp4"), media_info(1280, 720)),
    "AnimatedGraphics": (media_result("a/b_animatedGraphic_20000.gif"), media_info(320, 180, kbps="300", size="9000", fmt="gif")),
    "SnapshotByTimeOffset": (media_result("a/b_snapshotByTimeOffset_10_0.jpg", "a/b_snapshotByTimeOffset_10_1.jpg"),
                             media_info(1280, 720)),
    "SampleSnapshot": (media_result(*(f"a/b_sampleSnapshot_10_{i}.jpg" for i in range(10))), None),
    "ImageSprites": (media_result("a/b_imageSprite_10_0.jpg", "a/b_imageSprite_10.vtt"), None),
}


def task_records(state: str = "Success") -> tuple[Execution, list[Job], mps.TaskInfo]:
    body = {"InputInfo": COS_INPUT, "MediaProcessTask": ALL_TASKS, "TasksPriority": 3, "SessionId": "s-1",
            "SessionContext": "ctx", "TaskNotifyConfig": {"NotifyType": "URL", "NotifyUrl": "https://cb", "NotifyKey": "key"}}
    task = mps_plan.plan_task(sdk_json(body))
    job_ids = [f"j{i:032x}" for i in range(len(task.subtasks))]
    info = task.task_info(TASK_ID, job_ids)
    jobs = []
    for job_id, subtask in zip(job_ids, task.subtasks):
        result, meta = RESULTS[subtask.set_type]
        jobs.append(Job.model_validate({
            "JobId": job_id, "Tag": subtask.tag, "State": state, "Progress": 100 if state == "Success" else 0,
            "CreationTime": NOW, "StartTime": NOW + timedelta(seconds=1) if state != "Submitted" else None,
            "EndTime": NOW + timedelta(seconds=9) if state in ("Success", "Failed") else None,
            "QueueId": "p" + "0" * 32, "execution_id": TASK_ID,
            "Input": {"BucketId": "in-1250000000", "Object": "a/b.mp4", "Region": "ap-guangzhou"},
            "Operation": {"Output": {"Bucket": "in-1250000000", "Region": "ap-guangzhou", "Object": "x"},
                          "MediaResult": result if state == "Success" else None,
                          "MediaInfo": meta if state == "Success" else None},
        }))
    execution = Execution(
        id=TASK_ID, queue_id="p" + "0" * 32, bucket="in-1250000000", priority=3, state=state, job_ids=job_ids,
        created=NOW, started=NOW + timedelta(seconds=1) if state != "Submitted" else None,
        ended=NOW + timedelta(seconds=10) if state in ("Success", "Failed") else None,
    )
    return execution, jobs, info


def parse_strictly(model: Any, body: dict[str, Any]) -> Any:
    """The SDK's parse of `body`; a field it does not know (it warns) fails the test."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model._deserialize(json.loads(json.dumps(body)))
    return model


def test_describe_task_detail_parses_in_the_sdk() -> None:
    execution, jobs, info = task_records()
    body = mps.describe_task_detail(execution, jobs, info.model_dump())  # as stored: a plain dict
    detail = parse_strictly(sdk.DescribeTaskDetailResponse(), body)
    assert (detail.TaskType, detail.Status) == ("WorkflowTask", "FINISH")
    assert (detail.CreateTime, detail.BeginProcessTime, detail.FinishTime) == (
        "2026-11-23T08:00:00Z", "2026-11-23T08:00:01Z", "2026-11-23T08:00:10Z")
    assert (detail.TasksPriority, detail.SessionId, detail.SessionContext) == (3, "s-1", "ctx")
    assert detail.TaskNotifyConfig.NotifyUrl == "https://cb" and detail.TaskNotifyConfig.NotifyKey is None
    workflow = detail.WorkflowTask
    assert (workflow.TaskId, workflow.Status, workflow.ErrCode) == (TASK_ID, "FINISH", 0)
    assert workflow.InputInfo.CosInputInfo.Object == "/a/b.mp4"
    results = workflow.MediaProcessResultSet
    assert [r.Type for r in results] == ["Transcode", "AnimatedGraphics", "SnapshotByTimeOffset", "SampleSnapshot",
                                         "ImageSprites"]

    transcode = results[0].TranscodeTask
    assert (transcode.Status, transcode.ErrCode, transcode.ErrCodeExt, transcode.Progress) == ("SUCCESS", 0, "", 100)
    assert transcode.Input.Definition == 100030
    out = transcode.Output
    assert (out.Path, out.Definition, out.Width, out.Height) == ("/a/b_transcode_100030.mp4", 100030, 1280, 720)
    assert (out.Bitrate, out.Size, out.Duration, out.Container) == (834000, 417000, 4.0, "mov,mp4,m4a,3gp,3g2,mj2")
    assert out.Md5 == hashlib.md5(b"a/b_transcode_100030.mp4").hexdigest()
    assert (out.OutputStorage.Type, out.OutputStorage.CosOutputStorage.Bucket) == ("COS", "in-1250000000")
    assert out.VideoStreamSet[0].Codec == "h264" and out.VideoStreamSet[0].Fps == 25
    assert out.AudioStreamSet[0].SamplingRate == 44100 and out.AudioStreamSet[0].Bitrate == 128000

    animated = results[1].AnimatedGraphicTask
    assert animated.FinishTime == "2026-11-23T08:00:09Z"
    assert (animated.Output.Path, animated.Output.Container, animated.Output.Width) == (
        "/a/b_animatedGraphic_20000.gif", "gif", 320)
    assert (animated.Output.StartTimeOffset, animated.Output.EndTimeOffset, animated.Output.Bitrate) == (1.0, 4.0, 300000)

    pictures = results[2].SnapshotByTimeOffsetTask.Output.PicInfoSet
    assert [(p.TimeOffset, p.Path) for p in pictures] == [
        (1.5, "/a/b_snapshotByTimeOffset_10_0.jpg"), (2.0, "/a/b_snapshotByTimeOffset_10_1.jpg")]

    sample = results[3].SampleSnapshotTask.Output
    assert (sample.SampleType, sample.Interval, len(sample.ImagePathSet)) == ("Percent", 10, 10)
    assert sample.ImagePathSet[0] == "/a/b_sampleSnapshot_10_0.jpg"

    sprite = results[4].ImageSpriteTask.Output
    assert (sprite.Width, sprite.Height, sprite.TotalCount) == (142, 80, 100)
    assert sprite.ImagePathSet == ["/a/b_imageSprite_10_0.jpg"] and sprite.WebVttPath == "/a/b_imageSprite_10.vtt"


def test_waiting_task() -> None:
    execution, jobs, info = task_records("Submitted")
    detail = parse_strictly(sdk.DescribeTaskDetailResponse(), mps.describe_task_detail(execution, jobs, info))
    assert (detail.Status, detail.WorkflowTask.Status) == ("WAITING", "PROCESSING")
    assert detail.BeginProcessTime == detail.FinishTime == "0000-00-00T00:00:00Z"
    first = detail.WorkflowTask.MediaProcessResultSet[0].TranscodeTask
    assert (first.Status, first.Output, first.Progress) == ("PROCESSING", None, 0)
    assert detail.WorkflowTask.MediaProcessResultSet[1].AnimatedGraphicTask.BeginProcessTime == "0000-00-00T00:00:00Z"


def test_running_task() -> None:
    execution, jobs, info = task_records("Running")
    assert mps.describe_task_detail(execution, jobs, info)["Status"] == "PROCESSING"


def test_failed_subtasks() -> None:
    execution, jobs, info = task_records("Failed")
    for job in jobs:
        job.Code, job.Message = "ResourceDownloadFailed", "cannot read a/b.mp4"
    detail = parse_strictly(sdk.DescribeTaskDetailResponse(), mps.describe_task_detail(execution, jobs, info))
    assert detail.Status == "FINISH"
    # the same source error everywhere: reported on the task too
    assert (detail.WorkflowTask.ErrCode, detail.WorkflowTask.Message) == (60000, "cannot read a/b.mp4")
    transcode = detail.WorkflowTask.MediaProcessResultSet[0].TranscodeTask
    assert (transcode.Status, transcode.ErrCodeExt, transcode.ErrCode) == ("FAIL", "ResourceDownloadFailed", 60000)
    assert transcode.Message == "cannot read a/b.mp4"

    jobs[0].Code = "InternalError"  # different failures: each subtask says its own
    workflow = mps.workflow_task(execution, jobs, info)
    assert workflow["ErrCode"] == 0 and workflow["MediaProcessResultSet"][0]["TranscodeTask"]["ErrCode"] == 70000


def test_aws_s3_storage_rendered() -> None:
    execution, jobs, info = task_records()
    info = info.model_copy(update={"Subtasks": {k: v.model_copy(update={"StorageType": "AWS-S3"})
                                                for k, v in info.Subtasks.items()}})
    detail = parse_strictly(sdk.DescribeTaskDetailResponse(), mps.describe_task_detail(execution, jobs, info))
    storage = detail.WorkflowTask.MediaProcessResultSet[0].TranscodeTask.Output.OutputStorage
    assert (storage.Type, storage.S3OutputStorage.S3Bucket, storage.S3OutputStorage.S3Region) == (
        "AWS-S3", "in-1250000000", "ap-guangzhou")


def test_task_summary_parses_in_the_sdk() -> None:
    execution, jobs, info = task_records()
    summary = mps.task_summary(execution, jobs, info)
    response = parse_strictly(sdk.DescribeTasksResponse(), {"TaskSet": [summary], "ScrollToken": "", "TotalCount": 1})
    item = response.TaskSet[0]
    assert (item.TaskId, item.TaskType, item.CreateTime, item.FinishTime) == (
        TASK_ID, "WorkflowTask", "2026-11-23T08:00:00Z", "2026-11-23T08:00:10Z")
    assert item.SubTaskTypes == ["Transcode", "AnimatedGraphics", "SnapshotByTimeOffset", "SampleSnapshot", "ImageSprites"]


def test_task_event_parses_and_is_signed() -> None:
    execution, jobs, info = task_records()
    event = mps.task_event(execution, jobs, info, now=NOW)
    parsed = parse_strictly(sdk.ParseNotificationResponse(), event)
    assert parsed.EventType == "WorkflowTask"
    assert parsed.WorkflowTaskEvent.TaskId == TASK_ID and parsed.WorkflowTaskEvent.Status == "FINISH"
    assert (parsed.SessionId, parsed.SessionContext) == ("s-1", "ctx")
    expires = int((NOW + timedelta(minutes=10)).timestamp())
    assert parsed.Timestamp == expires
    assert parsed.Sign == hashlib.md5(f"{expires}key".encode()).hexdigest()
    assert mps.task_event(execution, jobs, info.model_copy(update={"NotifyKey": None}), now=NOW)["Sign"] == ""


def test_plan_info_contract() -> None:
    execution, jobs, info = task_records()
    ref = info.Subtasks[jobs[2].JobId]
    assert (ref.Type, ref.Index, ref.Definition) == ("SnapshotByTimeOffset", 0, 10)
    assert ref.Input == {"Definition": 10, "ExtTimeOffsetSet": ["1.5s", "50%"]}
    assert info.notify_mode == "Finish" and info.NotifyKey == "key"
    assert mps.TaskInfo.model_validate(json.loads(info.model_dump_json())) == info
    with pytest.raises(ValueError):
        mps_plan.plan_task(sdk_json({"InputInfo": COS_INPUT, "MediaProcessTask": ALL_TASKS})).task_info(TASK_ID, ["j1"])


def test_times_are_utc() -> None:
    assert mps.mps_time(datetime(2026, 1, 2, 11, 4, 5, tzinfo=timezone(timedelta(hours=8)))) == "2026-01-02T03:04:05Z"
    assert mps.mps_time(datetime(2026, 1, 2, 3, 4, 5)) == "2026-01-02T03:04:05Z"
    assert mps.mps_time(None) == "0000-00-00T00:00:00Z"


def test_time_points_in_time_order() -> None:
    """The unit writes the images in time order, whatever the request's order."""
    execution, jobs, info = task_records()
    job = jobs[2]
    info.Subtasks[job.JobId].Input["ExtTimeOffsetSet"] = ["50%", "1s"]  # 2.0 s and 1.0 s of 4 s
    body = mps.describe_task_detail(execution, [job], info)
    pictures = body["WorkflowTask"]["MediaProcessResultSet"][0]["SnapshotByTimeOffsetTask"]["Output"]["PicInfoSet"]
    assert [p["TimeOffset"] for p in pictures] == [1.0, 2.0]
    job.Operation.MediaInfo = None  # no duration: a percentage cannot be placed
    body = mps.describe_task_detail(execution, [job], info)
    pictures = body["WorkflowTask"]["MediaProcessResultSet"][0]["SnapshotByTimeOffsetTask"]["Output"]["PicInfoSet"]
    assert [p.get("TimeOffset") for p in pictures] == [None, 1.0]


def test_a_transcode_template_given_inline_or_overridden() -> None:
    raw = {"Container": "mp4", "VideoTemplate": {"Codec": "libx265", "Width": 480, "Bitrate": 700}}
    (subtask,) = plan(MediaProcessTask={"TranscodeTaskSet": [{"Definition": 0, "RawParameter": raw}]}).subtasks
    params = subtask.operation["Transcode"]
    assert (params["Video"]["Codec"], params["Video"]["Width"], params["Video"]["Bitrate"]) == ("H.265", "480", 700)
    override = {"Container": "flv", "VideoTemplate": {"Bitrate": 900}, "RemoveAudio": 1}
    (subtask,) = plan(MediaProcessTask={"TranscodeTaskSet": [{"Definition": 100020, "OverrideParameter": override}]}).subtasks
    params = subtask.operation["Transcode"]
    assert params["Container"]["Format"] == "flv" and params["Video"]["Bitrate"] == 900
    assert params["Video"]["Width"] == "720" and params["Audio"]["Remove"] == "true"  # the rest is MP4-SD's
    bad = {"TranscodeTaskSet": [{"Definition": 0, "RawParameter": {"Container": "avi"}}]}
    assert refused(MediaProcessTask=bad).message.startswith("MediaProcessTask.TranscodeTaskSet[0].RawParameter.Container")
