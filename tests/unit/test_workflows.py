"""Workflow binding rules: prefix, extension filters, topology order."""

from datetime import datetime, timezone

import pytest
from mediaflow.control.workflows import (
    ExtFilter,
    Topology,
    Workflow,
    parse_workflow_xml,
)
from mediaflow.exceptions import InvalidInputError

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 23, tzinfo=timezone.utc)


def workflow(prefix: str = "in/", ext_filter: dict | None = None, state: str = "Active") -> Workflow:
    start = {"Type": "Start", "Input": {"ObjectPrefix": prefix, "ExtFilter": ext_filter}}
    return Workflow(
        WorkflowId="w" + "0" * 32, Name="wf", State=state, BucketId="b", CreateTime=NOW, UpdateTime=NOW,
        Topology={"Dependencies": {"Start": "Transcode_1", "Transcode_1": "End"},
                  "Nodes": {"Start": start, "Transcode_1": {"Type": "Transcode", "Operation": {}}}},
    )


@pytest.mark.parametrize(
    ("key", "expected"),
    [("in/a.mp4", True), ("in/sub/a.mp4", True), ("out/a.mp4", False), ("ina.mp4", False), ("a.mp4", False)],
)
def test_prefix(key: str, expected: bool) -> None:
    assert workflow("in/").matches(key) is expected


def test_empty_prefix_matches_everything() -> None:
    assert workflow("").matches("anything/at/all.bin")


def test_paused_workflow_does_not_trigger() -> None:
    assert not workflow(state="Paused").matches("in/a.mp4")


@pytest.mark.parametrize(
    ("flt", "key", "expected"),
    [
        ({"State": "Off", "Video": "false"}, "in/a.txt", True),  # filter off: everything under the prefix
        ({"State": "On", "Video": "true"}, "in/a.mp4", True),
        ({"State": "On", "Video": "true"}, "in/a.MOV", True),  # extensions match case-insensitively
        ({"State": "On", "Video": "true"}, "in/a.mp3", False),
        ({"State": "On", "Audio": "true"}, "in/a.mp3", True),
        ({"State": "On", "Image": "true"}, "in/a.JPEG", True),
        ({"State": "On", "Custom": "true", "CustomExts": "mp4/MKV"}, "in/a.mkv", True),
        ({"State": "On", "Custom": "true", "CustomExts": "mp4/mkv"}, "in/a.avi", False),
        ({"State": "On", "AllFile": "true"}, "in/a.weird", True),
        ({"State": "On", "Video": "true"}, "in/noextension", False),
    ],
)
def test_ext_filter(flt: dict, key: str, expected: bool) -> None:
    assert workflow("in/", flt).matches(key) is expected
    assert ExtFilter.model_validate(flt).allows(key) is expected


def test_topology_orders_serial_and_parallel_nodes() -> None:
    topology = Topology(
        Dependencies={"Start": "Transcode_1,Snapshot_2", "Transcode_1": "Snapshot_3", "Snapshot_2": "End", "Snapshot_3": "End"},
        Nodes={name: {"Type": name.split("_")[0]} for name in ("Start", "Transcode_1", "Snapshot_2", "Snapshot_3")},
    )
    order = topology.ordered_nodes()
    assert set(order) == {"Transcode_1", "Snapshot_2", "Snapshot_3"}
    assert order.index("Transcode_1") < order.index("Snapshot_3")


def test_topology_cycle_is_refused() -> None:
    topology = Topology(
        Dependencies={"Start": "Transcode_1", "Transcode_1": "Snapshot_2", "Snapshot_2": "Transcode_1"},
        Nodes={name: {"Type": name.split("_")[0]} for name in ("Start", "Transcode_1", "Snapshot_2")},
    )
    with pytest.raises(InvalidInputError, match="cycle"):
        topology.ordered_nodes()


def test_parse_workflow_xml_refuses_garbage() -> None:
    with pytest.raises(InvalidInputError, match="not valid XML"):
        parse_workflow_xml("<Request><MediaWorkflow>")
    with pytest.raises(InvalidInputError, match="MediaWorkflow"):
        parse_workflow_xml("<Request><Other/></Request>")


def one_node(node_type: str, operation: dict) -> dict:
    """A MediaWorkflow element with Start and one processing node."""
    name = f"{node_type}_1"
    return {"Name": "wf", "Topology": {"Dependencies": {"Start": name, name: "End"},
                                       "Nodes": {"Start": {"Type": "Start", "Input": {"ObjectPrefix": ""}},
                                                 name: {"Type": node_type, "Operation": operation}}}}


@pytest.mark.parametrize(
    ("node_type", "operation", "error"),
    [
        ("Snapshot", {"Output": {"Object": "snap.jpg"}}, "Number"),
        ("SmartCover", {"Output": {"Object": "c-${Number}.jpg"}}, "SmartCover"),
        ("Transcode", {"Transcode": {"Video": {"Width": "641"}}, "Output": {"Object": "out.${ext}"}}, "Transcode_1.*Width"),
        ("Transcode", {"TemplateId": "t0" + "f" * 32, "Output": {"Object": "out.${ext}"}}, "does not exist"),
        ("Transcode", {"Output": {}}, "Output.Object is required"),
    ],
)
def test_bad_workflows_are_refused_before_anything_is_written(node_type: str, operation: dict, error: str) -> None:
    from mediaflow.control.workflows import create_workflow

    with pytest.raises(InvalidInputError, match=error):
        create_workflow("bucket", one_node(node_type, operation))  # no table is configured: nothing was written
