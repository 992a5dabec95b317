"""Speech recognition: parameters, chunking at silences, pocketsphinx on synthesised speech, the
Amazon Transcribe adapter against moto, and the result documents."""

import itertools
import json
import re
import time
import wave
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from mediaflow import aws
from mediaflow.control.templates import build_operation, parse_template_request
from mediaflow.exceptions import (
    InvalidInputError,
    MediaError,
    MediaflowError,
    TransientError,
)
from mediaflow.pipeline import speech_jobs
from mediaflow.speech import (
    PocketSphinxEngine,
    Sentence,
    SpeechParams,
    TranscribeEngine,
    Word,
    apply_punctuation,
    engine_for,
    engines,
    extract_pcm,
    sentences_from_json,
    sentences_to_json,
    shift,
    silences,
    speech_chunks,
    speech_result,
    stitch,
    to_srt,
    to_txt,
)
from moto import mock_aws
from pydantic import ValidationError
from support import SPOKEN, speak, word_error_rate

pytestmark = pytest.mark.unit

SENTENCES = SPOKEN
EN = SpeechParams(EngineModelType="16k_en")


def seconds(wav: Path) -> float:
    with wave.open(str(wav), "rb") as reader:
        return reader.getnframes() / reader.getframerate()


def sentence(text: str, *times: float) -> Sentence:
    """A sentence of `text`, its words (without punctuation, as engines give them) timed by
    (start, end) pairs in turn."""
    words = [Word(w, times[2 * i], times[2 * i + 1]) for i, w in enumerate(re.findall(r"[\w']+", text))]
    return Sentence(text, words[0].start, words[-1].end, words)


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The three sentences, 0.8 s apart, as 16 kHz mono PCM made the way jobs make it."""
    folder = tmp_path_factory.mktemp("speech")
    spoken = speak(folder / "spoken.wav", SENTENCES, pause_ms=800)
    return extract_pcm(spoken, folder / "speech.wav", start=0, duration=60, sample_rate=16000)


@pytest.fixture(scope="module")
def recognised(speech: Path) -> list[Sentence]:
    started = time.monotonic()
    found = PocketSphinxEngine().recognise(speech, EN)
    elapsed = time.monotonic() - started
    print(f"pocketsphinx: {seconds(speech):.1f} s of audio in {elapsed:.1f} s")
    return found


# ------------------------------------------------------------------ parameters
def test_params_from_xml_text() -> None:
    params = SpeechParams.model_validate({
        "EngineModelType": "16K_EN", "ChannelNum": "1", "ResTextFormat": "1", "FilterPunc": "2",
        "OutputFileType": "SRT", "FlashAsr": "false", "Format": None, "SpeakerNumber": " ", "SentenceMaxLength": "",
    })
    assert (params.EngineModelType, params.ResTextFormat, params.FilterPunc) == ("16k_en", 1, 2)
    assert (params.OutputFileType, params.FlashAsr, params.SpeakerNumber) == ("srt", False, 0)
    assert (params.sample_rate, params.language, params.word_level) == (16000, "en", True)
    phone = SpeechParams(EngineModelType="8k_zh", ChannelNum="2")
    assert (phone.sample_rate, phone.language, phone.word_level) == (8000, "zh", False)
    assert SpeechParams(EngineModelType="16k_ca").language == "yue"


@pytest.mark.parametrize(("fields", "message"), [
    ({"EngineModelType": "16k_fr"}, "unsupported EngineModelType '16k_fr'; expected one of 8k_zh, 8k_zh_s"),
    ({"EngineModelType": "16k_en", "ChannelNum": "2"}, "ChannelNum 2 is supported for 8k_zh only, not 16k_en"),
    ({"EngineModelType": "16k_en", "OutputFileType": "doc"},
     "unsupported OutputFileType 'doc'; expected one of txt, srt"),
    ({"EngineModelType": "16k_en", "FilterPunc": "3"}, "FilterPunc"),
    ({"EngineModelType": "16k_en", "SpeakerNumber": "11"}, "SpeakerNumber"),
    ({}, "EngineModelType"),
])
def test_params_refused(fields: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(message)):
        SpeechParams.model_validate(fields)


# ------------------------------------------------------------------ where to cut
def covers(chunks: list[tuple[float, float]], duration: float) -> None:
    assert chunks[0][0] == 0 and chunks[-1][1] == duration
    assert all(end == next_start for (_, end), (next_start, _) in itertools.pairwise(chunks))
    assert all(end > start for start, end in chunks)


def test_chunks_cut_in_the_middle_of_silences_near_the_target() -> None:
    quiet = [(20.0, 21.0), (55.0, 57.0), (70.0, 70.4), (118.0, 119.0), (150.0, 152.0)]
    chunks = speech_chunks(200.0, quiet, target=60)
    covers(chunks, 200.0)
    assert chunks == [(0.0, 56.0), (56.0, 118.5), (118.5, 200.0)]


def test_chunks_cut_hard_without_a_silence() -> None:
    chunks = speech_chunks(250.0, [(10.0, 11.0)], target=60)
    covers(chunks, 250.0)
    assert chunks == [(0.0, 120.0), (120.0, 240.0), (240.0, 250.0)]


def test_short_audio_is_one_chunk() -> None:
    assert speech_chunks(119.0, [(50.0, 52.0)], target=60) == [(0.0, 119.0)]
    assert speech_chunks(0.0, []) == []


def test_chunks_skip_silences_too_early_or_too_late() -> None:
    # 20 s is before target / 2, 130 s after longest: neither may end the first chunk
    chunks = speech_chunks(300.0, [(19.0, 21.0), (129.0, 131.0)], target=60)
    assert chunks[0] == (0.0, 120.0)
    covers(chunks, 300.0)


def test_chunks_of_audio_with_pauses_recognised_on_one_clock(tmp_path: Path) -> None:
    spoken = speak(tmp_path / "gaps.wav", SENTENCES, pause_ms=2000)
    duration = seconds(spoken)
    quiet = silences(spoken, timeout=60)
    gaps = [(start, end) for start, end in quiet if end - start > 1.5]
    assert len(gaps) == 2  # the two 2 s breaks (plus the sentence's own tail)
    chunks = speech_chunks(duration, quiet, target=3.0)
    covers(chunks, duration)
    assert len(chunks) == 3
    for _, cut in chunks[:-1]:
        assert any(start < cut < end for start, end in gaps)

    parts = []
    for index, (start, end) in enumerate(chunks):
        wav = extract_pcm(spoken, tmp_path / f"chunk-{index}.wav", start=start, duration=end - start,
                          sample_rate=16000)
        assert seconds(wav) == pytest.approx(end - start, abs=0.01)
        parts.append((start, PocketSphinxEngine().recognise(wav, EN)))
    stitched = stitch(parts)
    for (start, end), (_, found) in zip(chunks, parts):
        for heard in shift(found, start):
            assert start <= heard.start < heard.end <= end + 0.02
    starts = [s.start for s in stitched]
    assert starts == sorted(starts) and len(set(starts)) == len(starts)
    # Looser than for the whole: a chunk of one sentence in 2 s of silence is normalised less well.
    assert word_error_rate(" ".join(SENTENCES), " ".join(s.text for s in stitched)) <= 0.5


def test_silences_closes_a_silence_at_the_end(tmp_path: Path, make_media) -> None:
    clip = make_media(tmp_path / "tone.wav", "-f", "lavfi", "-i", "sine=frequency=300:duration=1",
                      "-f", "lavfi", "-i", "anullsrc=r=44100:cl=mono",
                      "-filter_complex", "[1:a]atrim=duration=1.5[q];[0:a][q]concat=n=2:v=0:a=1")
    [(start, end)] = silences(clip, timeout=30)
    assert start == pytest.approx(1.0, abs=0.05) and end == pytest.approx(2.5, abs=0.05)


def test_input_without_audio_is_refused(tmp_path: Path, make_media) -> None:
    video = make_media(tmp_path / "mute.mp4", "-f", "lavfi", "-i", "testsrc2=size=128x128:rate=5", "-t", "1")
    with pytest.raises(MediaError, match="the input has no audio track"):
        extract_pcm(video, tmp_path / "a.wav", start=0, duration=1, sample_rate=16000)
    with pytest.raises(MediaError, match="the input has no audio track"):
        silences(video, timeout=30)


# ------------------------------------------------------------------ pocketsphinx
def test_pocketsphinx_recognises_english(recognised: list[Sentence]) -> None:
    heard = " ".join(s.text for s in recognised)
    assert word_error_rate(" ".join(SENTENCES), heard) <= 0.35, heard
    assert len(recognised) == len(SENTENCES)  # the 0.8 s pauses end sentences
    assert all(s.text[0].isupper() and s.text.endswith(".") for s in recognised)
    words = [w for s in recognised for w in s.words]
    assert all(w.end > w.start for w in words)
    assert all(a.end <= b.start for a, b in itertools.pairwise(words))
    assert not any(re.search(r"[<\[(]", w.text) for w in words)  # fillers and "(2)" are gone


def test_srt_of_the_recognition(recognised: list[Sentence], speech: Path) -> None:
    srt = to_srt(recognised)
    cues = re.findall(r"(\d+)\n(\d\d):(\d\d):(\d\d),(\d{3}) --> (\d\d):(\d\d):(\d\d),(\d{3})\n(.+)\n", srt)
    assert [int(c[0]) for c in cues] == list(range(1, len(recognised) + 1))

    def at(h: str, m: str, s: str, ms: str) -> float:
        return int(h) * 3600 + int(m) * 60 + int(s) + int(ms) / 1000

    spans = [(at(*c[1:5]), at(*c[5:9])) for c in cues]
    assert all(end > start for start, end in spans)
    assert all(a_end <= b_start for (_, a_end), (b_start, _) in itertools.pairwise(spans))
    duration = seconds(speech)
    assert spans[0][0] < 1.5 and duration - 1.5 < spans[-1][1] <= duration


def test_pocketsphinx_hears_nothing_in_digital_silence(tmp_path: Path, make_media) -> None:
    quiet = make_media(tmp_path / "quiet.wav", "-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono", "-t", "3",
                       "-c:a", "pcm_s16le")
    assert PocketSphinxEngine().recognise(quiet, EN) == []
    empty = extract_pcm(quiet, tmp_path / "empty.wav", start=10, duration=1, sample_rate=16000)
    assert PocketSphinxEngine().recognise(empty, EN) == []


def test_pocketsphinx_takes_phone_audio(speech: Path, tmp_path: Path) -> None:
    # The shipped model is wideband, so 8 kHz audio is upsampled; recognition is much poorer
    # (WER 40-75 % on this voice), so only the timing is held to account here.
    phone = SpeechParams(EngineModelType="8k_en")
    wav = extract_pcm(speech, tmp_path / "phone.wav", start=0, duration=60, sample_rate=phone.sample_rate)
    found = PocketSphinxEngine().recognise(wav, phone)
    assert found and 0 <= found[0].start and found[-1].end <= seconds(wav) + 0.02


# ------------------------------------------------------------------ Amazon Transcribe
def transcript(*items: tuple[str, float, float] | str) -> dict:
    """A Transcribe transcript: (word, start, end) pronunciation items and punctuation strings."""
    listed = [
        {"type": "punctuation", "alternatives": [{"confidence": "0.0", "content": item}]} if isinstance(item, str)
        else {"type": "pronunciation", "start_time": str(item[1]), "end_time": str(item[2]),
              "alternatives": [{"confidence": "0.99", "content": item[0]}]}
        for item in items
    ]
    return {"jobName": "job", "accountId": "123456789012", "status": "COMPLETED",
            "results": {"transcripts": [{"transcript": "..."}], "items": listed}}


ENGLISH = transcript(("Hello", 0.04, 0.45), ("world", 0.45, 0.9), ".", ("How", 1.5, 1.7), ("are", 1.7, 1.8),
                     ("you", 1.8, 2.1), "?")
CHINESE = transcript(("你好", 0.1, 0.5), ("世界", 0.5, 0.9), "，", ("今天", 1.0, 1.3), ("很", 1.3, 1.4),
                     ("好", 1.4, 1.6), "。", ("谢谢", 2.5, 3.0))


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)


@pytest.fixture
def tone(tmp_path: Path, make_media) -> Path:
    return make_media(tmp_path / "tone.wav", "-f", "lavfi", "-i", "sine=frequency=300:duration=1",
                      "-ac", "1", "-ar", "16000", "-c:a", "pcm_s16le")


def test_transcribe_job_request_and_transcript(aws_env: None, tone: Path) -> None:
    """moto completes a job but writes no transcript: the spy writes one where Transcribe would."""
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="asr-work")
        transcribe = boto3.client("transcribe", region_name="us-east-1")
        requests: list[dict] = []

        def spy(params: dict, **_: object) -> None:
            media_key = params["Media"]["MediaFileUri"].removeprefix("s3://asr-work/")
            requests.append({**params, "uploaded": s3.head_object(Bucket="asr-work", Key=media_key)["ContentLength"]})
            s3.put_object(Bucket="asr-work", Key=params["OutputKey"], Body=json.dumps(CHINESE).encode())

        transcribe.meta.events.register("provide-client-params.transcribe.StartTranscriptionJob", spy)
        engine = TranscribeEngine("asr-work", prefix="asr/tmp", client=transcribe, s3=s3, poll_interval=0)
        found = engine.recognise(tone, SpeechParams(EngineModelType="16k_zh"))

        [request] = requests
        assert request["LanguageCode"] == "zh-CN"
        assert request["MediaFormat"] == "wav" and request["MediaSampleRateHertz"] == 16000
        assert re.fullmatch(r"s3://asr-work/asr/tmp/[\w-]+\.wav", request["Media"]["MediaFileUri"])
        assert request["uploaded"] == tone.stat().st_size
        assert request["OutputBucketName"] == "asr-work" and request["OutputKey"].startswith("asr/tmp/")
        job = transcribe.get_transcription_job(TranscriptionJobName=request["TranscriptionJobName"])
        assert job["TranscriptionJob"]["TranscriptionJobStatus"] == "COMPLETED"
        assert found == [
            Sentence("你好世界，今天很好。", 0.1, 1.6, [
                Word("你好", 0.1, 0.5), Word("世界", 0.5, 0.9), Word("今天", 1.0, 1.3), Word("很", 1.3, 1.4),
                Word("好", 1.4, 1.6)]),
            Sentence("谢谢", 2.5, 3.0, [Word("谢谢", 2.5, 3.0)]),
        ]
        assert s3.list_objects_v2(Bucket="asr-work").get("KeyCount") == 0  # the wav and the transcript are gone


def test_transcribe_reads_the_transcript_uri_when_not_in_the_bucket(
        aws_env: None, tone: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fetched = []

    class Response:
        content = json.dumps(ENGLISH).encode()

        def raise_for_status(self) -> None: ...

    monkeypatch.setattr(engines.requests, "get", lambda url, timeout: fetched.append(url) or Response())
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="asr-work")
        engine = TranscribeEngine("asr-work", client=boto3.client("transcribe", region_name="us-east-1"),
                                  s3=s3, poll_interval=0)
        assert engine.recognise(tone, EN) == [
            Sentence("Hello world.", 0.04, 0.9, [Word("Hello", 0.04, 0.45), Word("world", 0.45, 0.9)]),
            Sentence("How are you?", 1.5, 2.1, [Word("How", 1.5, 1.7), Word("are", 1.7, 1.8), Word("you", 1.8, 2.1)]),
        ]
    assert len(fetched) == 1 and fetched[0].startswith("https://")


class StuckTranscribe:
    """A Transcribe client whose jobs end in `status`."""

    def __init__(self, status: str) -> None:
        self.status = status

    def start_transcription_job(self, **_: object) -> dict:
        return {}

    def get_transcription_job(self, TranscriptionJobName: str) -> dict:
        return {"TranscriptionJob": {"TranscriptionJobStatus": self.status, "FailureReason": "The media is silent."}}


def test_transcribe_failure_and_timeout(aws_env: None, tone: Path) -> None:
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="asr-work")
        failed = TranscribeEngine("asr-work", client=StuckTranscribe("FAILED"), s3=s3, poll_interval=0)
        with pytest.raises(MediaError, match="Amazon Transcribe failed: The media is silent."):
            failed.recognise(tone, SpeechParams(EngineModelType="16k_th"))
        slow = TranscribeEngine("asr-work", client=StuckTranscribe("IN_PROGRESS"), s3=s3,
                                poll_interval=0.01, timeout=0.05)
        with pytest.raises(TransientError, match="did not finish within 0.05 s"):
            slow.recognise(tone, SpeechParams(EngineModelType="16k_th"))
        assert s3.list_objects_v2(Bucket="asr-work").get("KeyCount") == 0


# ------------------------------------------------------------------ choosing an engine
def test_engine_for_english_is_pocketsphinx(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRANSCRIBE_BUCKET", raising=False)
    for model_type in ("16k_en", "16k_en_edu", "8k_en"):
        assert engine_for(model_type).name == "pocketsphinx"


@pytest.fixture
def fresh_clients() -> Iterator[None]:
    yield
    aws.reset()  # the engine made process-wide clients under this test's environment


def test_engine_for_other_languages_needs_transcribe(monkeypatch: pytest.MonkeyPatch, aws_env: None,
                                                     fresh_clients: None) -> None:
    monkeypatch.delenv("TRANSCRIBE_BUCKET", raising=False)
    with pytest.raises(MediaflowError) as refused:
        engine_for("16k_zh")
    assert refused.value.code == "InvalidArgument"
    assert "pocketsphinx" in refused.value.message and "16k_zh" in refused.value.message
    assert "Amazon Transcribe" in refused.value.message

    monkeypatch.setenv("TRANSCRIBE_BUCKET", "asr-work")
    engine = engine_for("16k_zh")
    assert isinstance(engine, TranscribeEngine) and engine.bucket == "asr-work"
    with pytest.raises(MediaflowError, match="Amazon Transcribe has no model for 16k_zh_dialect"):
        engine_for("16k_zh_dialect")


def test_english_goes_to_transcribe_where_the_deployment_says_so(monkeypatch: pytest.MonkeyPatch, aws_env: None,
                                                                 fresh_clients: None) -> None:
    monkeypatch.setenv("TRANSCRIBE_BUCKET", "asr-work")
    monkeypatch.setenv("TRANSCRIBE_ENGLISH", "true")  # TranscribeLanguages=all, the default on AWS
    for model_type in ("16k_en", "16k_en_edu", "8k_en"):
        assert isinstance(engine_for(model_type), TranscribeEngine)
    assert isinstance(engine_for("16k_zh"), TranscribeEngine)
    monkeypatch.setenv("TRANSCRIBE_ENGLISH", "false")  # TranscribeLanguages=others
    assert engine_for("16k_en").name == "pocketsphinx" and isinstance(engine_for("16k_ja"), TranscribeEngine)
    monkeypatch.delenv("TRANSCRIBE_BUCKET")  # TranscribeLanguages=none: English offline whatever the flag says
    monkeypatch.setenv("TRANSCRIBE_ENGLISH", "true")
    assert engine_for("8k_en").name == "pocketsphinx"


# ------------------------------------------------------------------ results
TWO = [sentence("Hello, world.", 0.5, 0.9, 1.0, 1.4), sentence("It's fine!", 62.0, 62.25, 62.5, 63.25)]


def test_txt_lines() -> None:
    assert to_txt(TWO) == "[0:0.500,0:1.400]  Hello, world.\n[1:2.000,1:3.250]  It's fine!\n"


def test_srt_cues_never_overlap_or_vanish() -> None:
    touching = [sentence("One.", 0.0, 1.0), sentence("Two.", 0.9, 0.9), sentence("Three.", 3661.5, 3662.0)]
    assert to_srt(touching) == (
        "1\n00:00:00,000 --> 00:00:01,000\nOne.\n\n"
        "2\n00:00:01,000 --> 00:00:01,001\nTwo.\n\n"
        "3\n01:01:01,500 --> 01:01:02,000\nThree.\n"
    )


def test_punctuation_filters() -> None:
    assert apply_punctuation(TWO, 0) == TWO
    assert [s.text for s in apply_punctuation(TWO, 1)] == ["Hello, world", "It's fine"]
    assert [s.text for s in apply_punctuation(TWO, 2)] == ["Hello world", "It's fine"]
    assert apply_punctuation(TWO, 2)[0].words == TWO[0].words


def test_speech_result_sentences_only() -> None:
    result = speech_result(TWO, audio_time=63.4567, params=EN, object_name="out/asr.txt")
    assert result == {
        "AudioTime": 63.457,
        "Result": "Hello, world. It's fine!",
        "ObjectName": "out/asr.txt",
        "ResultDetail": [
            {"FinalSentence": "Hello, world.", "SliceSentence": "Hello world", "StartMs": 500, "EndMs": 1400,
             "WordsNum": 2, "SpeechSpeed": 2.2},
            {"FinalSentence": "It's fine!", "SliceSentence": "It's fine", "StartMs": 62000, "EndMs": 63250,
             "WordsNum": 2, "SpeechSpeed": 1.6},
        ],
    }


def test_speech_result_with_words() -> None:
    params = SpeechParams(EngineModelType="16k_en", ResTextFormat="1")
    result = speech_result(TWO, audio_time=64, params=params, object_name="o.srt", detail_object_name="o.json")
    assert result["DetailObjectName"] == "o.json"
    assert result["ResultDetail"][1]["Words"] == [
        {"Word": "It's", "OffsetStartMs": 0, "OffsetEndMs": 250},
        {"Word": "fine", "OffsetStartMs": 500, "OffsetEndMs": 1250},
    ]


def test_sentences_travel_as_json() -> None:
    text = sentences_to_json(TWO)
    assert sentences_from_json(text) == TWO
    assert stitch([(0.0, TWO[:1]), (60.0, sentences_from_json(sentences_to_json(shift(TWO[1:], -60.0))))]) == TWO


def test_speech_templates_and_operations_are_parsed_as_the_api_gets_them() -> None:
    tag, name, params = parse_template_request({"Tag": "SpeechRecognition", "Name": "en-srt", "SpeechRecognition": {
        "EngineModelType": "16k_en", "ResTextFormat": "1", "OutputFileType": "srt", "FilterDirty": "0"}})
    assert (tag, name, params["EngineModelType"], params["ResTextFormat"]) == ("SpeechRecognition", "en-srt", "16k_en", 1)
    operation = build_operation("SpeechRecognition", {"SpeechRecognition": {"EngineModelType": "16k_en"},
                                                      "Output": {"Object": "asr/${InputName}.txt"}, "JobLevel": "2"},
                                default_bucket="out", default_region="us-east-1")
    assert operation.SpeechRecognition.OutputFileType == "txt" and operation.JobLevel == 2
    with pytest.raises(InvalidInputError, match="EngineModelType"):
        build_operation("SpeechRecognition", {"SpeechRecognition": {"EngineModelType": "16k_xx"}, "Output": {"Object": "a.txt"}},
                        default_bucket="out", default_region="us-east-1")


def test_a_result_too_large_for_the_job_record_is_cut_down_and_stored_whole(monkeypatch) -> None:
    words = [Word(f"word{i}", i * 0.4, i * 0.4 + 0.3) for i in range(1500)]  # 10 minutes of talk
    sentences = [Sentence(" ".join(w.text for w in words[i:i + 10]), words[i].start, words[i + 9].end, words[i:i + 10])
                 for i in range(0, len(words), 10)]
    result = speech_result(sentences, audio_time=1600, params=SpeechParams(EngineModelType="16k_en", ResTextFormat=1),
                           object_name="out/talk.txt")
    assert len(json.dumps(result)) > speech_jobs.MAX_RESULT_BYTES
    kept = speech_jobs.within_limit(result, "out/talk.detail.json")
    assert len(json.dumps(kept, ensure_ascii=False).encode()) <= speech_jobs.MAX_RESULT_BYTES
    assert kept["DetailObjectName"] == "out/talk.detail.json" and kept["Result"] == result["Result"]
    assert len(kept["ResultDetail"]) == 150 and "Words" not in kept["ResultDetail"][0]
    monkeypatch.setattr(speech_jobs, "MAX_RESULT_BYTES", 4096)  # not even the text fits: it is cut
    small = speech_jobs.within_limit(result, "out/talk.detail.json")
    assert small["ResultDetail"] == [] and small["Result"].endswith(" …") and len(small["Result"]) <= 2100


@pytest.mark.parametrize("hours, target", [(6, 5.0), (6, 60.0), (24, 5.0), (0.5, 5.0)])
def test_a_speech_job_has_at_most_max_chunks_covering_all_of_its_audio(hours: float, target: float) -> None:
    duration = hours * 3600
    quiet = [(t, t + 0.4) for t in range(7, int(duration), 7)]  # a pause every 7 s
    windows = speech_jobs.chunk_windows(duration, quiet, target)
    assert len(windows) <= speech_jobs.MAX_CHUNKS
    assert windows[0][0] == 0 and windows[-1][1] == duration
    assert all(a[1] == b[0] for a, b in zip(windows, windows[1:]))
    if duration / target <= speech_jobs.MAX_CHUNKS / 2:  # short enough: chunks keep the target length
        assert len(windows) >= duration / (2 * target)
