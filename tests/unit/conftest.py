"""Fixtures for the media unit tests: short clips made with ffmpeg's lavfi test sources."""

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

FFMPEG = Path(__file__).resolve().parents[2] / "layers" / "ffmpeg" / "bin" / "ffmpeg"
os.environ.setdefault("FFMPEG_PATH", str(FFMPEG))


def _make_media(path: Path, *args: str) -> Path:
    cmd = [os.environ["FFMPEG_PATH"], "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *args, str(path)]
    subprocess.run(cmd, check=True, timeout=60)
    return path


@pytest.fixture(scope="session")
def make_media() -> Callable[..., Path]:
    """make_media(path, *ffmpeg_args): run ffmpeg directly (not the code under test) to produce path."""
    return _make_media


@pytest.fixture(scope="session")
def clip_720p(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """4 s of 1280x720 25 fps test pattern and a 440 Hz tone: H.264 (a key frame a second) + AAC, mp4."""
    return _make_media(
        tmp_path_factory.mktemp("media") / "clip720.mp4",
        "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=25",
        "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
        "-t", "4", "-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-c:a", "aac",
    )
