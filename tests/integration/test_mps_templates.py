"""MPS templates through the API function in-process: presets listed as Preset with their published
Definitions; a custom template created, described, modified, used by Definition (by a task and by a
workflow), refused deletion while a workflow uses it, then deleted; one store with the COS face."""

from __future__ import annotations

import json

import boto3
import pytest
from mediaflow.control.jobs import get_execution, get_job
from mediaflow.faces.mps.templates import FIRST_CUSTOM, template_id
from support import serve_bucket, tc3_event

pytestmark = pytest.mark.integration
BUCKET = "mps-templates-media"
TEMPLATE = {"Name": "small-h264", "Comment": "320 wide", "Container": "mp4",
            "VideoTemplate": {"Codec": "libx264", "Width": 320, "Height": 0, "Bitrate": 400, "Fps": 25},
            "AudioTemplate": {"Codec": "libfdk_aac", "Bitrate": 64, "SampleRate": 44100, "AudioChannel": 2}}


def call(serve, action: str, params: dict) -> dict:
    answer = serve(tc3_event(action, params))
    assert answer["statusCode"] == 200, answer
    return json.loads(answer["body"])["Response"]


def test_presets_are_listed_as_preset_with_their_published_definitions(serve) -> None:
    for action, field, definitions in (("DescribeTranscodeTemplates", "TranscodeTemplateSet", {100010, 100020, 100030,
                                                                                                100040, 100070}),
                                       ("DescribeSampleSnapshotTemplates", "SampleSnapshotTemplateSet", {10}),
                                       ("DescribeImageSpriteTemplates", "ImageSpriteTemplateSet", {10}),
                                       ("DescribeAnimatedGraphicsTemplates", "AnimatedGraphicsTemplateSet", {20000}),
                                       ("DescribeSnapshotByTimeOffsetTemplates", "SnapshotByTimeOffsetTemplateSet", {10})):
        listed = call(serve, action, {"Type": "Preset", "Limit": 100})
        assert {t["Definition"] for t in listed[field]} == definitions and listed["TotalCount"] == len(definitions)
        assert {t["Type"] for t in listed[field]} == {"Preset"}
    fhd = call(serve, "DescribeTranscodeTemplates", {"Definitions": [100040]})["TranscodeTemplateSet"][0]
    assert fhd["Container"] == "mp4" and (fhd["VideoTemplate"]["Width"], fhd["VideoTemplate"]["Height"]) == (1920, 0)


def test_a_custom_transcode_template_is_created_used_kept_while_in_use_and_deleted(serve) -> None:
    serve_bucket(BUCKET)
    boto3.client("s3").put_object(Bucket=BUCKET, Key="in/a.mp4", Body=b"x")
    definition = call(serve, "CreateTranscodeTemplate", TEMPLATE)["Definition"]
    assert FIRST_CUSTOM <= definition  # never a preset's
    listed = call(serve, "DescribeTranscodeTemplates", {"Definitions": [definition]})["TranscodeTemplateSet"]
    assert listed[0]["Type"] == "Custom" and listed[0]["VideoTemplate"]["Width"] == 320 and listed[0]["Name"] == "small-h264"
    assert definition not in {t["Definition"] for t in call(serve, "DescribeTranscodeTemplates",
                                                            {"Type": "Preset"})["TranscodeTemplateSet"]}

    call(serve, "ModifyTranscodeTemplate", {"Definition": definition, "Name": "smaller",
                                            "VideoTemplate": {**TEMPLATE["VideoTemplate"], "Width": 240}})
    changed = call(serve, "DescribeTranscodeTemplates", {"Definitions": [definition]})["TranscodeTemplateSet"][0]
    assert (changed["Name"], changed["VideoTemplate"]["Width"], changed["Container"]) == ("smaller", 240, "mp4")

    task = call(serve, "ProcessMedia", {
        "InputInfo": {"Type": "COS", "CosInputInfo": {"Bucket": BUCKET, "Region": "us-east-1", "Object": "/in/a.mp4"}},
        "MediaProcessTask": {"TranscodeTaskSet": [{"Definition": definition}]}})
    job = get_job(get_execution(task["TaskId"]).job_ids[0])
    assert job.Operation.Transcode.Video.Width == 240 and job.Operation.Output.Object.endswith(
        f"_transcode_{definition}.${{ext}}")

    workflow = call(serve, "CreateWorkflow", {
        "WorkflowName": "uses-template", "Trigger": {"Type": "CosFileUpload", "CosFileUploadTrigger": {
            "Bucket": BUCKET, "Region": "us-east-1"}},
        "MediaProcessTask": {"TranscodeTaskSet": [{"Definition": definition}]}})["WorkflowId"]
    in_use = call(serve, "DeleteTranscodeTemplate", {"Definition": definition})
    assert in_use["Error"]["Code"] == "ResourceInUse" and str(workflow) in in_use["Error"]["Message"]
    call(serve, "DeleteWorkflow", {"WorkflowId": workflow})
    assert "Error" not in call(serve, "DeleteTranscodeTemplate", {"Definition": definition})
    assert call(serve, "DescribeTranscodeTemplates", {"Definitions": [definition]})["TotalCount"] == 0
    gone = call(serve, "ProcessMedia", {
        "InputInfo": {"Type": "COS", "CosInputInfo": {"Bucket": BUCKET, "Region": "us-east-1", "Object": "/in/a.mp4"}},
        "MediaProcessTask": {"TranscodeTaskSet": [{"Definition": definition}]}})
    assert "unknown Definition" in gone["Error"]["Message"]


def test_presets_cannot_be_changed_and_bad_templates_are_refused(serve) -> None:
    preset = call(serve, "ModifyTranscodeTemplate", {"Definition": 100010, "Name": "mine"})
    assert "preset" in preset["Error"]["Message"]
    assert call(serve, "DeleteSampleSnapshotTemplate", {"Definition": 10})["Error"]["Code"] == "InvalidParameterValue"
    bad = call(serve, "CreateImageSpriteTemplate", {"SampleType": "Time", "SampleInterval": 5, "RowCount": 0,
                                                    "ColumnCount": 4})
    assert bad["Error"]["Code"] == "InvalidParameterValue" and bad["Error"]["Message"].startswith("RowCount")


def test_other_kinds_make_the_parameters_they_describe(serve) -> None:
    sprite = call(serve, "CreateImageSpriteTemplate", {"SampleType": "Time", "SampleInterval": 5, "RowCount": 3,
                                                       "ColumnCount": 4, "Width": 160, "Height": 90})["Definition"]
    from mediaflow.control.templates import get_template

    params = get_template(template_id(sprite)).params
    assert (params["SpriteSnapshotConfig"]["Columns"], params["SpriteSnapshotConfig"]["Lines"]) == (4, 3)
    assert (params["SpriteSnapshotConfig"]["CellWidth"], params["SpriteSnapshotConfig"]["CellHeight"]) == (160, 90)
    assert params["TimeInterval"] == 5 and params["SnapshotOutMode"] == "OnlySprite"
    gif = call(serve, "CreateAnimatedGraphicsTemplate", {"Fps": 10, "Width": 200, "Format": "webp", "Quality": 60})
    assert get_template(template_id(gif["Definition"])).params["Container"]["Format"] == "webp"


PNG_1PX = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC"
KINDS = {  # kind: (a valid creation, a field Modify changes and its new value, the Describe set)
    "Transcode": (TEMPLATE, ("Comment", "changed"), "TranscodeTemplateSet"),
    "SnapshotByTimeOffset": ({"Name": "snap", "Width": 320, "Format": "png"}, ("Width", 240),
                             "SnapshotByTimeOffsetTemplateSet"),
    "SampleSnapshot": ({"Name": "sample", "SampleType": "Percent", "SampleInterval": 20, "Width": 160},
                       ("SampleInterval", 25), "SampleSnapshotTemplateSet"),
    "ImageSprite": ({"Name": "sprite", "SampleType": "Time", "SampleInterval": 5, "RowCount": 3, "ColumnCount": 4,
                     "Width": 160, "Height": 90}, ("RowCount", 2), "ImageSpriteTemplateSet"),
    "AnimatedGraphics": ({"Name": "gif", "Fps": 10, "Width": 200, "Format": "gif"}, ("Fps", 12),
                         "AnimatedGraphicsTemplateSet"),
    "Watermark": ({"Name": "mark", "Type": "image", "XPos": "10px", "YPos": "10px",
                   "ImageTemplate": {"ImageContent": PNG_1PX, "Width": "10%"}}, ("XPos", "20px"),
                  "WatermarkTemplateSet"),
}


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_is_created_described_modified_and_deleted(serve, kind: str) -> None:
    """Create, Describe (by Definition, and among the Custom ones), Modify one field, Delete: for every
    template kind the face serves, as the SDK's actions name them."""
    serve_bucket(BUCKET)
    created, (field, value), listed_as = KINDS[kind]
    definition = call(serve, f"Create{kind}Template", created)["Definition"]
    assert FIRST_CUSTOM <= definition
    described = call(serve, f"Describe{kind}Templates", {"Definitions": [definition]})[listed_as]
    # a watermark's Type is image or text (MPS has no watermark presets); the others' Preset or Custom
    custom = {"Type": "image"} if kind == "Watermark" else {"Type": "Custom"}
    assert [(t["Definition"], t["Type"]) for t in described] == [(definition, custom["Type"])]
    assert definition in {t["Definition"] for t in call(serve, f"Describe{kind}Templates",
                                                        {**custom, "Limit": 100})[listed_as]}
    assert "Error" not in call(serve, f"Modify{kind}Template", {"Definition": definition, field: value})
    changed = call(serve, f"Describe{kind}Templates", {"Definitions": [definition]})[listed_as][0]
    assert changed[field] == value and changed["Name"] == described[0]["Name"]  # the others stay
    assert "Error" not in call(serve, f"Delete{kind}Template", {"Definition": definition})
    assert call(serve, f"Describe{kind}Templates", {"Definitions": [definition]})["TotalCount"] == 0
    assert call(serve, f"Delete{kind}Template", {"Definition": definition})["Error"]["Code"].startswith(
        ("ResourceNotFound", "InvalidParameterValue"))
