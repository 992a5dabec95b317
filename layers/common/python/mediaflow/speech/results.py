"""What is made of recognised sentences: the whole audio's sentences from its chunks, the txt and
srt outputs, the job's SpeechRecognitionResult, and the JSON a chunk's sentences travel in.

The txt output is Tencent's ResTextFormat 0 text: one line per sentence,
`[m:s.mmm,m:s.mmm]  text`, the times from the start of the audio in minutes (as many as it takes)
and seconds to the millisecond, then two spaces and the sentence:

    [0:0.270,0:2.910]  The meeting starts at ten in the morning.
    [1:2.500,1:4.120]  Please bring your notes.
"""

import json
import unicodedata
from dataclasses import asdict, replace
from typing import Any

from .engines import SENTENCE_END, UNSPACED, Sentence, Word
from .params import SpeechParams

_INNER = "'’-"  # punctuation that is part of a word when letters stand on both sides ("don't", "e-mail")


# ------------------------------------------------------------------ chunks onto one clock
def shift(sentences: list[Sentence], offset: float) -> list[Sentence]:
    return [Sentence(s.text, s.start + offset, s.end + offset,
                     [Word(w.text, w.start + offset, w.end + offset) for w in s.words]) for s in sentences]


def stitch(chunks: list[tuple[float, list[Sentence]]]) -> list[Sentence]:
    """The sentences of consecutive chunks, each given as (its start in the audio, its sentences
    timed from that start), on the whole audio's clock."""
    return [sentence for offset, sentences in chunks for sentence in shift(sentences, offset)]


# ------------------------------------------------------------------ FilterPunc
def apply_punctuation(sentences: list[Sentence], filter_punc: int) -> list[Sentence]:
    """FilterPunc 0: as recognised; 1: without the punctuation that ends each sentence;
    2: without any punctuation."""
    if filter_punc == 1:
        return [replace(s, text=s.text.rstrip(SENTENCE_END + "…").rstrip()) for s in sentences]
    if filter_punc == 2:
        return [replace(s, text=_unpunctuated(s.text)) for s in sentences]
    return sentences


def _unpunctuated(text: str) -> str:
    kept = [
        ch for i, ch in enumerate(text)
        if not unicodedata.category(ch).startswith("P")
        or (ch in _INNER and 0 < i < len(text) - 1 and text[i - 1].isalnum() and text[i + 1].isalnum())
    ]
    return " ".join("".join(kept).split())


# ------------------------------------------------------------------ output files
def to_txt(sentences: list[Sentence]) -> str:
    return "".join(f"[{_minutes(s.start)},{_minutes(s.end)}]  {s.text}\n" for s in sentences)


def to_srt(sentences: list[Sentence]) -> str:
    """SubRip: one numbered cue per sentence. A cue never starts before the previous one ends and
    always lasts a millisecond at least, as players expect."""
    cues = []
    previous_end = 0
    for number, sentence in enumerate(sentences, start=1):
        start = max(_ms(sentence.start), previous_end)
        end = max(_ms(sentence.end), start + 1)
        cues.append(f"{number}\n{_clock(start)} --> {_clock(end)}\n{sentence.text}\n")
        previous_end = end
    return "\n".join(cues)


def _ms(seconds: float) -> int:
    return max(0, round(seconds * 1000))


def _minutes(seconds: float) -> str:
    minutes, ms = divmod(_ms(seconds), 60_000)
    return f"{minutes}:{ms / 1000:.3f}"


def _clock(ms: int) -> str:
    hours, ms = divmod(ms, 3_600_000)
    minutes, ms = divmod(ms, 60_000)
    seconds, ms = divmod(ms, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d},{ms:03d}"


# ------------------------------------------------------------------ SpeechRecognitionResult
def speech_result(sentences: list[Sentence], *, audio_time: float, params: SpeechParams, object_name: str,
                  detail_object_name: str = "") -> dict[str, Any]:
    """The SpeechRecognitionResult element. Words are listed for ResTextFormat 1 and 2, each timed
    from the start of its sentence as Tencent's are; SpeechSpeed is in words a second."""
    joiner = "" if params.language in UNSPACED else " "
    details = []
    for sentence in sentences:
        start, end = _ms(sentence.start), _ms(sentence.end)
        seconds = (end - start) / 1000
        detail: dict[str, Any] = {
            "FinalSentence": sentence.text,
            "SliceSentence": " ".join(w.text for w in sentence.words),
            "StartMs": start,
            "EndMs": end,
            "WordsNum": len(sentence.words),
            "SpeechSpeed": round(len(sentence.words) / seconds, 1) if seconds > 0 else 0.0,
        }
        if params.word_level:
            detail["Words"] = [{"Word": w.text, "OffsetStartMs": _ms(w.start) - start,
                                "OffsetEndMs": _ms(w.end) - start} for w in sentence.words]
        details.append(detail)
    result: dict[str, Any] = {
        "AudioTime": round(audio_time, 3),
        "Result": joiner.join(s.text for s in sentences),
        "ObjectName": object_name,
    }
    if detail_object_name:
        result["DetailObjectName"] = detail_object_name
    result["ResultDetail"] = details
    return result


# ------------------------------------------------------------------ between task units
def sentences_to_json(sentences: list[Sentence]) -> str:
    return json.dumps([asdict(s) for s in sentences], ensure_ascii=False)


def sentences_from_json(text: str) -> list[Sentence]:
    return [Sentence(s["text"], float(s["start"]), float(s["end"]),
                     [Word(w["text"], float(w["start"]), float(w["end"])) for w in s.get("words", [])])
            for s in json.loads(text)]
