"""The <SpeechRecognition> element of an ASR job or template, parsed from `xmltodict` output.

Every parameter of the CI reference is accepted and range-checked, so that a request Tencent
would refuse is refused here too. Only EngineModelType, FilterPunc, ResTextFormat and
OutputFileType change what is produced; the others (dirty-word and modal filters, number
conversion, speaker diarization, the flash options) have no effect on our engines.
Invalid values raise pydantic's ValidationError; callers turn it into InvalidInputError.
"""

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from ..media.params import Params

ENGINE_MODEL_TYPES = (
    "8k_zh", "8k_zh_s", "8k_en",
    "16k_zh", "16k_zh_video", "16k_en", "16k_ca", "16k_ja", "16k_zh_edu", "16k_en_edu",
    "16k_zh_medical", "16k_th", "16k_zh_dialect",
)
# ISO 639 codes. Cantonese is "yue": Tencent's "ca" would read as Catalan.
_LANGUAGES = {"zh": "zh", "en": "en", "ca": "yue", "ja": "ja", "th": "th"}
OUTPUT_FILE_TYPES = ("txt", "srt")
FLASH_FORMATS = ("wav", "pcm", "ogg-opus", "speex", "silk", "mp3", "m4a", "aac")
_INT_CHOICES = ("ChannelNum", "ResTextFormat", "FilterDirty", "FilterModal", "ConvertNumMode",
                "SpeakerDiarization", "FilterPunc", "FirstChannelOnly", "WordInfo")


def _one_of(field: str, value: str, allowed: tuple[str, ...]) -> str:
    name = value.strip().lower()
    if name not in allowed:
        raise ValueError(f"unsupported {field} {value!r}; expected one of {', '.join(allowed)}")
    return name


class SpeechParams(Params):
    EngineModelType: str
    ChannelNum: Literal[1, 2] = 1
    ResTextFormat: Literal[0, 1, 2] = 0
    FilterDirty: Literal[0, 1, 2] = 0
    FilterModal: Literal[0, 1, 2] = 0
    ConvertNumMode: Literal[0, 1, 3] = 0
    SpeakerDiarization: Literal[0, 1] = 0
    SpeakerNumber: int = Field(default=0, ge=0, le=10)
    FilterPunc: Literal[0, 1, 2] = 0
    OutputFileType: str = "txt"
    FlashAsr: bool = False
    Format: str | None = None
    FirstChannelOnly: Literal[0, 1] = 1
    WordInfo: Literal[0, 1, 2] = 0
    SentenceMaxLength: int | None = Field(default=None, ge=1)

    @field_validator(*_INT_CHOICES, mode="before")
    @classmethod
    def _int_from_text(cls, value: Any) -> Any:
        # XML gives "1"; Literal fields do not coerce strings by themselves.
        if isinstance(value, str) and value.lstrip("-").isdigit():
            return int(value)
        return value

    @field_validator("EngineModelType")
    @classmethod
    def _model_type(cls, value: str) -> str:
        return _one_of("EngineModelType", value, ENGINE_MODEL_TYPES)

    @field_validator("OutputFileType")
    @classmethod
    def _output_type(cls, value: str) -> str:
        return _one_of("OutputFileType", value, OUTPUT_FILE_TYPES)

    @field_validator("Format")
    @classmethod
    def _format(cls, value: str | None) -> str | None:
        return None if value is None else _one_of("Format", value, FLASH_FORMATS)

    @model_validator(mode="after")
    def _two_channels(self) -> "SpeechParams":
        if self.ChannelNum == 2 and self.EngineModelType != "8k_zh":
            raise ValueError(f"ChannelNum 2 is supported for 8k_zh only, not {self.EngineModelType}")
        return self

    @property
    def sample_rate(self) -> int:
        """The rate the engine model expects: phone models are 8 kHz."""
        return 8000 if self.EngineModelType.startswith("8k_") else 16000

    @property
    def language(self) -> str:
        """The spoken language: "en", "zh", "ja", "yue" (Cantonese) or "th"."""
        return _LANGUAGES[self.EngineModelType.split("_")[1]]

    @property
    def word_level(self) -> bool:
        """Whether the result lists each sentence's words (ResTextFormat 1 and 2)."""
        return self.ResTextFormat in (1, 2)
