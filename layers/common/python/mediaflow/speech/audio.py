"""Audio for speech recognition: mono PCM extracts, silence detection, and where to cut long audio.

Long audio is recognised in chunks so that several task units work on it at once. A cut inside a
silence does not split a word, so each chunk ends at a pause near CHUNK_SECONDS after its start.
"""

import re
import tempfile
from pathlib import Path

from ..exceptions import MediaError
from ..media.ffmpeg import input_args, log_lines, num_arg, run_ffmpeg

CHUNK_SECONDS = 60.0
# "Stream map '0:a:0' matches no streams.": ffmpeg's words for an input without audio
_NO_AUDIO = "matches no streams"
# Characters that would need escaping inside a filter graph; temporary paths never have them.
_SAFE_PATH = re.compile(r"^[\w./-]+$")


def pcm_args(source: Path, target: Path, *, start: float, duration: float, sample_rate: int) -> list[str]:
    """ffmpeg arguments for [start, start + duration) of the first audio track as mono 16-bit wav."""
    return [
        "-ss", num_arg(start), "-t", num_arg(duration), *input_args(str(source)),
        "-map", "0:a:0", "-vn", "-sn", "-dn",
        "-ac", "1", "-ar", str(sample_rate), "-c:a", "pcm_s16le", "-f", "wav", str(target),
    ]


def extract_pcm(source: Path, target: Path, *, start: float, duration: float, sample_rate: int,
                timeout: float = 300) -> Path:
    _run_on_audio(pcm_args(source, target, start=start, duration=duration, sample_rate=sample_rate), timeout)
    return target


def silences(source: Path, *, noise_db: float = -35, min_silence: float = 0.3,
             timeout: float) -> list[tuple[float, float]]:
    """(start, end) of each stretch of the first audio track quieter than noise_db for at least
    min_silence seconds, in time order.

    silencedetect's findings are printed to a file as frame metadata: the log that run_ffmpeg keeps
    is bounded, and would lose the middle of an hour of pauses. Only a silence still open at the
    end of the audio is closed in the log alone, whose tail is always kept."""
    with tempfile.TemporaryDirectory() as folder:
        found = Path(folder) / "silences.txt"
        if not _SAFE_PATH.match(str(found)):
            raise MediaError(f"cannot use {found} in a filter graph", code="InternalError")
        detect = f"silencedetect=noise={num_arg(noise_db)}dB:d={num_arg(min_silence)}"
        stderr = _run_on_audio([
            *input_args(str(source)), "-map", "0:a:0", "-vn", "-sn", "-dn",
            "-af", f"{detect},ametadata=mode=print:file={found}", "-f", "null", "-",
        ], timeout)
        printed = found.read_text(encoding="utf-8") if found.exists() else ""
    starts = [float(v) for v in re.findall(r"^lavfi\.silence_start=(\S+)$", printed, re.MULTILINE)]
    ends = [float(v) for v in re.findall(r"^lavfi\.silence_end=(\S+)$", printed, re.MULTILINE)]
    if len(starts) > len(ends):
        logged = [float(m[1]) for _, text in log_lines(stderr) if (m := re.match(r"silence_end: (\S+)", text))]
        if logged and logged[-1] > starts[len(ends)]:
            ends.append(logged[-1])
    return list(zip(starts, ends))  # a silence left open (none logged) is not one we can place


def speech_chunks(duration: float, quiet: list[tuple[float, float]], *, target: float = CHUNK_SECONDS,
                  longest: float | None = None) -> list[tuple[float, float]]:
    """Consecutive (start, end) windows covering [0, duration) exactly, none longer than `longest`
    (2 * target by default).

    Each window ends in the middle of the silence whose middle is nearest to start + target, among
    those between start + target / 2 and start + longest; with none there it ends hard at start +
    longest. Audio no longer than `longest` is one window."""
    longest = 2 * target if longest is None else longest
    if target <= 0 or longest < target:
        raise ValueError(f"need 0 < target <= longest, got target={target}, longest={longest}")
    if duration <= 0:
        return []
    middles = sorted((a + b) / 2 for a, b in quiet)
    chunks: list[tuple[float, float]] = []
    start = 0.0
    while duration - start > longest:
        near = [m for m in middles if start + target / 2 <= m <= start + longest]
        cut = min(near, key=lambda m: abs(m - start - target)) if near else start + longest
        chunks.append((start, cut))
        start = cut
    chunks.append((start, duration))
    return chunks


def _run_on_audio(args: list[str], timeout: float) -> str:
    try:
        return run_ffmpeg(args, timeout=timeout)
    except MediaError as error:
        if _NO_AUDIO in error.message:
            raise MediaError("the input has no audio track") from error
        raise
