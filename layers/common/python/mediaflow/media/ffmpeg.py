"""Running ffmpeg: argument lists only (never a shell), a hard timeout, short error messages.

Every run logs with `-loglevel level+info`, which tags each stderr line with its level
("[error] ...", "[fatal] ..."): that is what lets us pick the real cause out of a long log.
"""

import math
import os
import re
import shutil
import subprocess
import threading
from collections import deque
from collections.abc import Callable, Iterator
from typing import IO

from ..exceptions import MediaError

_LOG_ARGS = ["-loglevel", "level+info"]
_HEAD_LINES = 400  # the input dump that `probe` parses is at the top
_TAIL_LINES = 400  # the errors that explain a failure are at the bottom
_MAX_MESSAGE = 300
# The layer's ffmpeg is statically linked against glibc. Its iconv (the MPEG-TS demuxer decodes
# service names with it) loads charset modules with dlopen from the build host's gconv folder
# (/usr/lib/x86_64-linux-gnu/gconv); on a Debian or Ubuntu machine that folder exists, and loading
# a module of another glibc into a static binary crashes it (SIGSEGV on any .ts input). With
# GCONV_PATH set, glibc skips its module cache, and the charsets MPEG-TS uses by default are then not
# found, so iconv_open fails and ffmpeg keeps the raw name. Lambda's runtime (Amazon Linux) has no
# such folder, so this changes nothing there.
FFMPEG_ENV = {"GCONV_PATH": "/nonexistent/mediaflow-no-gconv"}

# "[libx264 @ 0x55...] [vost#0:0/libx264 @ 0x55...] [error] text" -> level "error", text "text"
_LINE = re.compile(r"^(?:\[[^\]]* @ 0x[0-9a-f]+\] )*\[(?P<level>[a-z]+)\] (?P<text>.*)$")
# "Error opening input files: Invalid data found ..." -> the reason alone (no file name to lose)
_SUMMARY = re.compile(r"^Error [a-z ]+: (?P<reason>.+)$")


def int_arg(value: float) -> str:
    return str(int(value))


def num_arg(value: float) -> str:
    """1.5 -> "1.5", 25.0 -> "25": digits and a point only, whatever the caller passed, so that a
    number can go into a filter graph without escaping."""
    if not math.isfinite(value):
        raise ValueError(f"not a finite number: {value}")
    text = f"{float(value):.6f}".rstrip("0").rstrip(".")
    return text or "0"


def ffmpeg_path() -> str:
    path = os.environ.get("FFMPEG_PATH") or shutil.which("ffmpeg")
    if not path:
        raise MediaError("ffmpeg is not installed (set FFMPEG_PATH or put ffmpeg on PATH)", code="InternalError")
    return path


def input_args(path: str) -> list[str]:
    """Options for an input the service did not produce. Only local files may be opened, so an
    HLS or concat playlist that points at http:// (or any other protocol) fails instead of
    reaching out; ffmpeg's own checks refuse absolute paths and odd extensions inside them."""
    return ["-protocol_whitelist", "file", "-i", path]


def run_ffmpeg(
    args: list[str],
    *,
    timeout: float,
    progress: Callable[[float], None] | None = None,
    duration: float | None = None,
) -> str:
    """Run `ffmpeg args`; return its stderr. Raise MediaError on failure or timeout.

    With `progress` and `duration`, progress(fraction) is called from this thread as ffmpeg
    reports its position."""
    report = progress is not None and bool(duration and duration > 0)
    cmd = [ffmpeg_path(), "-hide_banner", "-nostdin", "-y", *_LOG_ARGS]
    if report:
        cmd += ["-progress", "pipe:1", "-nostats"]
    cmd += args

    def on_stdout(stream: IO[str]) -> None:
        for line in stream:
            fraction = _progress_fraction(line, duration or 0)
            if fraction is not None:
                progress(fraction)  # type: ignore[misc]

    returncode, stderr = execute(cmd, timeout=timeout, on_stdout=on_stdout if report else None)
    if returncode != 0:
        raise MediaError(error_summary(stderr) or f"ffmpeg failed with exit code {returncode}")
    return stderr


def execute(
    cmd: list[str], *, timeout: float, on_stdout: Callable[[IO[str]], None] | None = None
) -> tuple[int, str]:
    """Run `cmd`, returning (exit code, stderr). Kill it and raise MediaError(code="Timeout")
    after `timeout` seconds. `on_stdout`, if given, consumes stdout line by line in this thread."""
    try:
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE if on_stdout else subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            errors="replace",  # metadata may be in any encoding
            env={**os.environ, **FFMPEG_ENV},
        )
    except OSError as exc:
        raise MediaError(f"cannot start ffmpeg: {exc}", code="InternalError") from exc

    expired = threading.Event()

    def expire() -> None:
        expired.set()
        proc.kill()  # also ends an on_stdout loop blocked on a read

    log = _Log()
    reader = threading.Thread(target=log.drain, args=(proc.stderr,), daemon=True)
    reader.start()
    timer = threading.Timer(timeout, expire)
    timer.start()
    try:
        if on_stdout:
            on_stdout(proc.stdout)  # type: ignore[arg-type]
        proc.wait()
    finally:
        timer.cancel()
        if proc.poll() is None:  # on_stdout raised: do not leave ffmpeg running
            proc.kill()
            proc.wait()
        reader.join()
        for stream in (proc.stdout, proc.stderr):
            if stream:
                stream.close()
    if expired.is_set() and proc.returncode != 0:
        raise MediaError(f"ffmpeg timed out after {timeout:g} s", code="Timeout")
    return proc.returncode, log.text()


class _Log:
    """stderr kept within bounds: the first and last lines, the middle dropped if too long."""

    def __init__(self) -> None:
        self.head: list[str] = []
        self.tail: deque[str] = deque(maxlen=_TAIL_LINES)
        self.dropped = 0

    def drain(self, stream: IO[str]) -> None:
        for line in stream:
            if len(self.head) < _HEAD_LINES:
                self.head.append(line)
                continue
            if len(self.tail) == self.tail.maxlen:
                self.dropped += 1
            self.tail.append(line)

    def text(self) -> str:
        gap = [f"[... {self.dropped} lines dropped ...]\n"] if self.dropped else []
        return "".join([*self.head, *gap, *self.tail])


def _progress_fraction(line: str, duration: float) -> float | None:
    key, _, value = line.strip().partition("=")
    if key == "progress" and value == "end":
        return 1.0
    if key != "out_time_us" or not value.lstrip("-").isdigit():
        return None  # other keys, or "N/A" before the first frame
    return min(1.0, max(0.0, int(value) / 1e6 / duration))


def log_lines(stderr: str) -> Iterator[tuple[str, str]]:
    """(level, text) for each stderr line, the context and level tags removed. A line that
    continues a multi-line message carries no tag: its level is ""."""
    for raw in stderr.splitlines():
        match = _LINE.match(raw)
        yield (match["level"], match["text"]) if match else ("", raw)


def error_summary(stderr: str) -> str:
    """A short human explanation of a failed run, from its error-level lines.

    The first error is usually the cause ("moov atom not found", "width not divisible by 2");
    the last fatal line names the consequence ("Invalid data found when processing input").
    Returns "" when ffmpeg logged no error."""
    errors = [(level, text.strip()) for level, text in log_lines(stderr) if level in ("error", "fatal", "panic")]
    if not errors:
        return ""
    message = cause = _reason(errors[0][1])
    fatal = [text for level, text in errors if level != "error"]
    if fatal and (final := _reason(fatal[-1])) not in cause:
        message = f"{final} ({cause})"
    return message if len(message) <= _MAX_MESSAGE else message[: _MAX_MESSAGE - 3] + "..."


def _reason(text: str) -> str:
    match = _SUMMARY.match(text)
    return match["reason"] if match else text
