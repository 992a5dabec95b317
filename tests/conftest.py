"""Shared test setup: the layer's ffmpeg on PATH, media made with ffmpeg's test sources, and a stack
built from template.yaml inside moto (in-process) for integration tests."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FFMPEG_BIN = ROOT / "layers" / "ffmpeg" / "bin"
EVENTS = ROOT / "events"

# Tests run ffmpeg the way the functions do: from the layer's bin/ on PATH.
os.environ["PATH"] = f"{FFMPEG_BIN}{os.pathsep}{os.environ.get('PATH', '')}"
os.environ.setdefault("FFMPEG_PATH", str(FFMPEG_BIN / "ffmpeg"))


def make_video(path: Path, *, seconds: float = 4, size: str = "1280x720", rate: int = 25, audio: bool = True) -> Path:
    """A test pattern (and a tone) encoded with x264/AAC."""
    args = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
            "-f", "lavfi", "-i", f"testsrc2=size={size}:rate={rate}:duration={seconds}"]
    if audio:
        args += ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=44100:duration={seconds}", "-c:a", "aac"]
    args += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-shortest", str(path)]
    subprocess.run(args, check=True)
    return path


@pytest.fixture(scope="session")
def sample_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_video(tmp_path_factory.mktemp("media") / "sample.mp4")


def load_event(name: str) -> dict:
    """One sample event from events/ (the same files `sam local invoke -e` takes)."""
    return json.loads((EVENTS / f"{name}.json").read_text())


def import_handler(module: str, env: dict[str, str]) -> object:
    """Import a function's handler module afresh with its environment (handlers read settings at import)."""
    os.environ.update(env)
    sys.modules.pop(module, None)
    return importlib.import_module(module)
