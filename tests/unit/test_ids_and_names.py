"""Id shapes, time formats and output names."""

import re
from datetime import datetime, timedelta, timezone

import pytest

from mediaflow import ids, naming
from mediaflow.times import ci_time, parse_ci_time

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("prefix", [ids.JOB, ids.RUN, ids.WORKFLOW, ids.QUEUE])
def test_new_ids_have_tencent_shape(prefix: str) -> None:
    value = ids.new_id(prefix)
    assert re.fullmatch(prefix + r"[0-9a-f]{32}", value)
    assert ids.is_id(prefix, value)
    assert ids.new_id(prefix) != value


def test_stable_ids_depend_on_every_part() -> None:
    first = ids.stable_id("i", "bucket", "key", "v1", "wf")
    assert first == ids.stable_id("i", "bucket", "key", "v1", "wf")
    assert first != ids.stable_id("i", "bucket", "key", "v2", "wf")
    # parts are separated, so moving a character between them changes the id
    assert ids.stable_id("i", "ab", "c") != ids.stable_id("i", "a", "bc")
    assert ids.is_id("i", first)


@pytest.mark.parametrize("bad", ["j123", "x" + "0" * 32, "j" + "G" * 32, "j" + "0" * 33, 5])
def test_is_id_rejects(bad: object) -> None:
    assert not ids.is_id("j", bad)  # type: ignore[arg-type]


def test_ci_time_has_no_colon_in_offset() -> None:
    moment = datetime(2022, 6, 27, 15, 23, 12, tzinfo=timezone(timedelta(hours=8)))
    assert ci_time(moment) == "2022-06-27T15:23:12+0800"
    assert parse_ci_time("2022-06-27T15:23:12+0800") == moment
    assert ci_time(None) == "-"


def test_output_variables() -> None:
    name = naming.expand("${InputPath}/${InputName}_${RunId}.${ext}", input_key="in/videos/a.b.mp4", run_id="i1", ext="mp4")
    assert name == "in/videos/a.b_i1.mp4"
    assert naming.expand("${InputNameAndExt}_${Jobid}.${Ext}", input_key="test1.mp4", job_id="j9", ext="flv") == "test1.mp4_j9.flv"
    # an input at the root has an empty path: no leading slash in the key
    assert naming.expand("${InputPath}/${InputName}.${ext}", input_key="a.mov", ext="mp4") == "a.mp4"


def test_number_is_kept_for_units_then_filled() -> None:
    template = naming.expand("snap/${RunId}/s-${number}.jpg", input_key="a.mp4", run_id="i1", keep_number=True)
    assert template == "snap/i1/s-${Number}.jpg"
    assert naming.number(template, 3) == "snap/i1/s-3.jpg"


def test_unknown_variables_are_left_alone() -> None:
    assert naming.expand("${Nope}/x", input_key="a.mp4") == "${Nope}/x"
