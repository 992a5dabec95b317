"""Speech recognition (Tag=SpeechRecognition): parameters, audio chunks, engines, results."""

from .audio import CHUNK_SECONDS, extract_pcm, pcm_args, silences, speech_chunks
from .engines import (
    LANGUAGE_CODES,
    Engine,
    PocketSphinxEngine,
    Sentence,
    TranscribeEngine,
    Word,
    engine_for,
    transcript_sentences,
)
from .params import ENGINE_MODEL_TYPES, SpeechParams
from .results import (
    apply_punctuation,
    sentences_from_json,
    sentences_to_json,
    shift,
    speech_result,
    stitch,
    to_srt,
    to_txt,
)

__all__ = [
    "CHUNK_SECONDS",
    "ENGINE_MODEL_TYPES",
    "LANGUAGE_CODES",
    "Engine",
    "PocketSphinxEngine",
    "Sentence",
    "SpeechParams",
    "TranscribeEngine",
    "Word",
    "apply_punctuation",
    "engine_for",
    "extract_pcm",
    "pcm_args",
    "sentences_from_json",
    "sentences_to_json",
    "shift",
    "silences",
    "speech_chunks",
    "speech_result",
    "stitch",
    "to_srt",
    "to_txt",
    "transcript_sentences",
]
