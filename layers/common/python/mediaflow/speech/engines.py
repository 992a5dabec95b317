"""Speech recognition engines: what turns a mono 16-bit wav into timed sentences.

PocketSphinx runs in the process and knows English only. Amazon Transcribe, where a deployment
names a bucket for it (TRANSCRIBE_BUCKET), covers the other languages, and English too where the
deployment says so (TRANSCRIBE_ENGLISH=true, the default on AWS: better recognition than the
offline engine; local runs keep English offline). Times are in seconds from the start of the wav.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
import uuid
import wave
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Protocol

import requests
from botocore.exceptions import ClientError

from .. import aws
from ..exceptions import MediaError, MediaflowError, TransientError
from ..media.ffmpeg import run_ffmpeg
from .audio import pcm_args
from .params import SpeechParams

# Transcription jobs are named with this prefix: the template grants Unit these jobs only
# (transcription-job/mediaflow-*).
TRANSCRIBE_JOB_PREFIX = "mediaflow-"
SENTENCE_PAUSE = 0.5  # seconds between two words that end a sentence (pocketsphinx gives no punctuation)
SENTENCE_END = ".?!。？！"
# Languages written without spaces between words
UNSPACED = ("zh", "yue", "ja", "th")


@dataclass(frozen=True)
class Word:
    text: str
    start: float
    end: float


@dataclass(frozen=True)
class Sentence:
    text: str
    start: float
    end: float
    words: list[Word] = field(default_factory=list)


class Engine(Protocol):
    name: str

    def serves(self, model_type: str) -> bool: ...

    def recognise(self, wav: Path, params: SpeechParams) -> list[Sentence]: ...


# ------------------------------------------------------------------ pocketsphinx
ENGLISH = ("16k_en", "16k_en_edu", "8k_en")
DECODER_RATE = 16000
_decoding = threading.Lock()  # one decoder per process, and a decoder is not reentrant


@cache
def _decoder() -> Any:
    """The en-us decoder, made once per process (about half a second).

    The shipped en-us model is wideband: its feat.params fixes the filter bank at 130-6800 Hz, so
    it cannot be configured for 8 kHz; phone audio is decoded upsampled instead. maxhmmpf 3000
    about doubles the speed at no cost in accuracy that we could measure. Dither keeps digital
    silence from being heard as words; its fixed seed, reset before each utterance, keeps the
    results repeatable."""
    # imported here: the library loads without pocketsphinx where nothing is recognised
    from pocketsphinx import Decoder

    return Decoder(samprate=DECODER_RATE, loglevel="FATAL", maxhmmpf=3000, dither=True, seed=1)


class PocketSphinxEngine:
    name = "pocketsphinx"

    def serves(self, model_type: str) -> bool:
        return model_type in ENGLISH

    def recognise(self, wav: Path, params: SpeechParams) -> list[Sentence]:
        pcm = _pcm_at(wav, DECODER_RATE)
        if len(pcm) < DECODER_RATE // 5:  # under 0.1 s: no word fits, and an empty buffer crashes the decoder
            return []
        with _decoding:
            decoder = _decoder()
            frame_rate = float(decoder.config["frate"])
            decoder.reinit_feat()  # restarts the dither's random numbers
            decoder.start_utt()
            # The whole chunk at once: the model normalises cepstra over the utterance (cmn batch).
            decoder.process_raw(pcm, full_utt=True)
            decoder.end_utt()
            segments = [(s.word, s.start_frame, s.end_frame) for s in decoder.seg()]
        words = [Word(_spelling(text), first / frame_rate, (last + 1) / frame_rate)
                 for text, first, last in segments if not _filler(text)]
        return _sentences_at_pauses(words)


def _pcm_at(wav: Path, rate: int) -> bytes:
    """The samples of a mono 16-bit wav, resampled to `rate` by ffmpeg when it has another."""
    with wave.open(str(wav), "rb") as reader:
        if reader.getnchannels() != 1 or reader.getsampwidth() != 2:
            raise MediaError("speech recognition needs mono 16-bit PCM", code="InternalError")
        if reader.getframerate() == rate:
            return reader.readframes(reader.getnframes())
        duration = reader.getnframes() / reader.getframerate()
    with tempfile.TemporaryDirectory() as folder:
        resampled = Path(folder) / "resampled.wav"
        # a second more than the whole: -t must not cut the last samples for rounding
        run_ffmpeg(pcm_args(wav, resampled, start=0, duration=duration + 1, sample_rate=rate), timeout=300)
        with wave.open(str(resampled), "rb") as reader:
            return reader.readframes(reader.getnframes())


def _filler(text: str) -> bool:
    # <s>, </s>, <sil>, [NOISE], [SPEECH] and the like
    return text.startswith(("<", "[", "+"))


def _spelling(text: str) -> str:
    word = text.split("(", 1)[0]  # "the(2)": the second pronunciation of "the"
    return "I" + word[1:] if word == "i" or word.startswith("i'") else word


def _sentences_at_pauses(words: list[Word]) -> list[Sentence]:
    groups: list[list[Word]] = []
    for word in words:
        if groups and word.start - groups[-1][-1].end <= SENTENCE_PAUSE:
            groups[-1].append(word)
        else:
            groups.append([word])
    sentences = []
    for group in groups:
        text = " ".join(w.text for w in group)
        sentences.append(Sentence(text[:1].upper() + text[1:] + ".", group[0].start, group[-1].end, group))
    return sentences


# ------------------------------------------------------------------ Amazon Transcribe
LANGUAGE_CODES = {
    "8k_zh": "zh-CN", "8k_zh_s": "zh-CN", "16k_zh": "zh-CN", "16k_zh_video": "zh-CN",
    "16k_zh_edu": "zh-CN", "16k_zh_medical": "zh-CN",
    "8k_en": "en-US", "16k_en": "en-US", "16k_en_edu": "en-US",
    "16k_ja": "ja-JP",
    "16k_ca": "zh-HK",  # Transcribe's Cantonese (Hong Kong)
    "16k_th": "th-TH",
    # 16k_zh_dialect is left out: Transcribe has no model for the Chinese dialects.
}
_TRANSIENT_CODES = ("LimitExceededException", "ThrottlingException", "InternalFailureException")


class TranscribeEngine:
    """Batch transcription jobs: the wav goes to s3://bucket/prefix/, the transcript comes back
    beside it, and both are deleted once read."""

    name = "Amazon Transcribe"

    def __init__(self, bucket: str, *, prefix: str = "transcribe", client: Any = None, s3: Any = None,
                 poll_interval: float = 5.0, timeout: float = 900.0) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.client = client or aws.client("transcribe")
        self.s3 = s3 or aws.client("s3")
        self.poll_interval = poll_interval
        self.timeout = timeout

    def serves(self, model_type: str) -> bool:
        return model_type in LANGUAGE_CODES

    def recognise(self, wav: Path, params: SpeechParams) -> list[Sentence]:
        if not self.serves(params.EngineModelType):
            raise MediaflowError(f"Amazon Transcribe does not recognise {params.EngineModelType}",
                                 code="InvalidArgument")
        name = f"{TRANSCRIBE_JOB_PREFIX}{uuid.uuid4().hex}"
        media_key, output_key = f"{self.prefix}/{name}.wav", f"{self.prefix}/{name}.json"
        with wave.open(str(wav), "rb") as reader:
            rate = reader.getframerate()
        self.s3.upload_file(str(wav), self.bucket, media_key)
        try:
            job = self._transcribe(name, params, rate, media_key, output_key)
            transcript = self._transcript(job, output_key)
        finally:
            for key in (media_key, output_key):
                self.s3.delete_object(Bucket=self.bucket, Key=key)
        return transcript_sentences(transcript, spaced=params.language not in UNSPACED)

    def _transcribe(self, name: str, params: SpeechParams, rate: int, media_key: str, output_key: str) -> dict:
        try:
            self.client.start_transcription_job(
                TranscriptionJobName=name,
                LanguageCode=LANGUAGE_CODES[params.EngineModelType],
                MediaFormat="wav",
                MediaSampleRateHertz=rate,
                Media={"MediaFileUri": f"s3://{self.bucket}/{media_key}"},
                OutputBucketName=self.bucket,
                OutputKey=output_key,
            )
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code in _TRANSIENT_CODES:
                raise TransientError(f"Amazon Transcribe is busy: {code}") from error
            raise
        deadline = time.monotonic() + self.timeout
        while True:
            job = self.client.get_transcription_job(TranscriptionJobName=name)["TranscriptionJob"]
            status = job["TranscriptionJobStatus"]
            if status == "COMPLETED":
                return job
            if status == "FAILED":
                raise MediaError(f"Amazon Transcribe failed: {job.get('FailureReason') or 'no reason given'}")
            if time.monotonic() >= deadline:
                raise TransientError(f"Amazon Transcribe did not finish within {self.timeout:g} s")
            time.sleep(self.poll_interval)

    def _transcript(self, job: dict, output_key: str) -> dict:
        """The transcript JSON from where we asked Transcribe to write it; from its URI otherwise."""
        try:
            body = self.s3.get_object(Bucket=self.bucket, Key=output_key)["Body"].read()
        except self.s3.exceptions.NoSuchKey:
            uri = job.get("Transcript", {}).get("TranscriptFileUri")
            if not uri:
                raise MediaError("Amazon Transcribe wrote no transcript") from None
            response = requests.get(uri, timeout=30)
            response.raise_for_status()
            body = response.content
        return json.loads(body)


def transcript_sentences(transcript: dict, *, spaced: bool = True) -> list[Sentence]:
    """Sentences from a Transcribe transcript's `results.items`: pronunciation items are the words;
    a punctuation item belongs to the text after the word before it, and .?! end a sentence."""
    sentences: list[Sentence] = []
    words: list[Word] = []
    text = ""
    joiner = " " if spaced else ""

    def close() -> None:
        nonlocal words, text
        if words:
            sentences.append(Sentence(text.strip(), words[0].start, words[-1].end, words))
        words, text = [], ""

    for item in transcript.get("results", {}).get("items", []):
        content = item["alternatives"][0]["content"]
        if item.get("type") == "punctuation":
            text += content
            if content in SENTENCE_END:
                close()
            continue
        words.append(Word(content, float(item["start_time"]), float(item["end_time"])))
        text += (joiner if text else "") + content
    close()
    return sentences


# ------------------------------------------------------------------ choosing
def engine_for(model_type: str) -> Engine:
    """The engine for an EngineModelType: Amazon Transcribe where TRANSCRIBE_BUCKET is set and it
    serves the language (English only with TRANSCRIBE_ENGLISH=true), else pocketsphinx for English.
    Refuses a model type no engine here recognises."""
    embedded = PocketSphinxEngine()
    transcribed = bool(os.environ.get("TRANSCRIBE_BUCKET")) and model_type in LANGUAGE_CODES
    if embedded.serves(model_type) and not (transcribed and os.environ.get("TRANSCRIBE_ENGLISH") == "true"):
        return embedded
    bucket = os.environ.get("TRANSCRIBE_BUCKET")
    english = f"the embedded engine (pocketsphinx) recognises English only ({', '.join(ENGLISH)})"
    if not bucket:
        raise MediaflowError(
            f"speech recognition with {model_type} is not available: {english}; "
            f"{model_type} needs Amazon Transcribe, which this deployment does not use",
            code="InvalidArgument")
    if model_type not in LANGUAGE_CODES:
        raise MediaflowError(
            f"speech recognition with {model_type} is not available: {english}, "
            f"and Amazon Transcribe has no model for {model_type}", code="InvalidArgument")
    return TranscribeEngine(bucket)
