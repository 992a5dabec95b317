"""Shared test setup: the layer's ffmpeg on PATH and a sample video."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from support import FFMPEG_BIN, make_video

# Tests run ffmpeg the way the functions do: from the layer's bin/ on PATH.
os.environ["PATH"] = f"{FFMPEG_BIN}{os.pathsep}{os.environ.get('PATH', '')}"
os.environ.setdefault("FFMPEG_PATH", str(FFMPEG_BIN / "ffmpeg"))


@pytest.fixture(scope="session")
def sample_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_video(tmp_path_factory.mktemp("media") / "sample.mp4")
