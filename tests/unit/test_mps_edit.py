"""EditMedia planned (`faces/mps/edit.py`): one file is a transcode of its clip, several a join whose
first part is the task's input, every part cut to its clip; what cannot be done is refused."""

from __future__ import annotations

import pytest
from mediaflow.exceptions import InvalidInputError
from mediaflow.faces.mps.edit import plan_edit

pytestmark = pytest.mark.unit


def file(key: str, bucket: str = "media", **clip: float) -> dict:
    return {"InputInfo": {"Type": "COS", "CosInputInfo": {"Bucket": bucket, "Region": "r", "Object": key}}, **clip}


def body(*files: dict, **more: object) -> dict:
    return {"FileInfos": list(files), "OutputStorage": {"Type": "COS", "CosOutputStorage": {"Bucket": "out", "Region": "r"}},
            "OutputObjectPath": "/cut/{inputName}"} | more


def test_one_file_is_a_transcode_of_its_clip() -> None:
    plan = plan_edit(body(file("/a/clip.mp4", StartTimeOffset=2, EndTimeOffset=5)))
    (subtask,) = plan.subtasks
    assert subtask.tag == "Transcode" and plan.task_type == "EditMediaTask" and plan.key == "a/clip.mp4"
    assert subtask.operation["Transcode"]["TimeInterval"] == {"Start": 2, "Duration": 3}
    assert subtask.operation["Output"] == {"Bucket": "out", "Region": "r", "Object": "cut/${InputName}.${ext}"}


def test_several_files_are_a_join_each_cut_to_its_clip() -> None:
    plan = plan_edit(body(file("/a.mp4", StartTimeOffset=1), file("/b.mp4", EndTimeOffset=4), file("/c.mp4"),
                          OutputConfig={"Container": "mov"}))
    join = plan.subtasks[0].operation["ConcatTemplate"]
    assert plan.subtasks[0].tag == "Concat" and join["InputStartTime"] == 1 and "InputEndTime" not in join
    assert join["ConcatFragment"] == [{"Url": "b.mp4", "Mode": "End", "EndTime": 4}, {"Url": "c.mp4", "Mode": "End"}]
    assert join["Container"] == {"Format": "mov"} and len(plan.file_infos) == 3


@pytest.mark.parametrize(("request_body", "where"), [
    (body(file("/a.mp4"), file("/b.mp4", bucket="elsewhere")), "FileInfos"),
    (body(file("/a.mp4", StartTimeOffset=3, EndTimeOffset=2)), "FileInfos[0].EndTimeOffset"),
    (body({"InputInfo": {"Type": "URL", "UrlInputInfo": {"Url": "https://example.com/a.mp4"}}}), "FileInfos[0].InputInfo"),
    (body(file("/a.mp4"), ComposeConfig={"Canvas": {}}), "ComposeConfig"),
    (body(file("/a.mp4"), OutputConfig={"Type": "fast"}), "OutputConfig.Type"),
    (body(), "FileInfos"),
])
def test_what_cannot_be_done_is_refused_naming_the_field(request_body: dict, where: str) -> None:
    with pytest.raises(InvalidInputError) as refused:
        plan_edit(request_body)
    assert refused.value.message.startswith(where)
