"""The MPS page's table names every action of Tencent's MPS SDK once, and says "supported" of exactly
the actions the face answers (the two inbox actions of ours beside them)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from mediaflow.faces.mps.routes import ACTIONS
from tencentcloud.mps.v20190612 import mps_client

pytestmark = pytest.mark.unit
PAGE = Path(__file__).resolve().parents[2] / "docs" / "mps-face.md"


def rows() -> list[tuple[list[str], str]]:
    table = PAGE.read_text().split("## Every action", 1)[1]
    found = []
    for line in table.splitlines():
        if line.startswith("| `"):
            names, answer = line.strip("|").rsplit("|", 1)
            found.append((re.findall(r"`(\w+)`", names), answer.strip()))
    return found


def test_every_sdk_action_is_in_the_table_once() -> None:
    listed = [name for names, _ in rows() for name in names]
    sdk = {name for name in dir(mps_client.MpsClient) if name[0].isupper()}
    assert len(listed) == len(set(listed))
    assert set(listed) == sdk | {"PullEvents", "ConfirmEvents"}


def test_supported_means_answered() -> None:
    answered = {name for names, answer in rows() if not answer.startswith("refused") for name in names}
    assert answered == set(ACTIONS)
