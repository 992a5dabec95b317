"""Workflow binding rules: prefix, extension filters, topology order."""

from datetime import datetime, timezone

import pytest

from mediaflow.exceptions import InvalidInputError
from mediaflow.workflows import ExtFilter, Topology, Workflow, parse_workflow_xml

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


def test_snapshot_output_needs_number() -> None:
    from mediaflow.workflows import create_workflow

    spec = {"Name": "wf", "Topology": {"Dependencies": {"Start": "Snapshot_1", "Snapshot_1": "End"},
                                       "Nodes": {"Start": {"Type": "Start", "Input": {"ObjectPrefix": ""}},
                                                 "Snapshot_1": {"Type": "Snapshot",
                                                                "Operation": {"Output": {"Object": "snap.jpg"}}}}}}
    with pytest.raises(InvalidInputError, match="Number"):
        create_workflow("bucket", spec)  # refused before anything is written


def test_unsupported_node_type_is_refused() -> None:
    from mediaflow.workflows import create_workflow

    spec = {"Name": "wf", "Topology": {"Dependencies": {"Start": "SmartCover_1", "SmartCover_1": "End"},
                                       "Nodes": {"Start": {"Type": "Start", "Input": {"ObjectPrefix": ""}},
                                                 "SmartCover_1": {"Type": "SmartCover",
                                                                  "Operation": {"Output": {"Object": "c-${Number}.jpg"}}}}}}
    with pytest.raises(InvalidInputError, match="SmartCover"):
        create_workflow("bucket", spec)


def test_node_parameters_are_checked_when_the_workflow_is_created() -> None:
    from mediaflow.workflows import create_workflow

    spec = {"Name": "wf", "Topology": {"Dependencies": {"Start": "Transcode_1", "Transcode_1": "End"},
                                       "Nodes": {"Start": {"Type": "Start", "Input": {"ObjectPrefix": ""}},
                                                 "Transcode_1": {"Type": "Transcode", "Operation": {
                                                     "Transcode": {"Video": {"Width": "641"}},
                                                     "Output": {"Object": "out.${ext}"}}}}}}
    with pytest.raises(InvalidInputError, match="Transcode_1.*Width"):
        create_workflow("bucket", spec)
