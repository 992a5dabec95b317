"""The speech and document queues through the whole stack, driven by Tencent's COS SDK
(ci_create_asr_job / ci_create_doc_job and their queue calls): recognition and rendering on real
files, callbacks to a real HTTP receiver, and the queues' pause, resume and priority."""

from __future__ import annotations

from typing import Any

import pytest
import xmltodict
from qcloud_cos import CosS3Client
from qcloud_cos.cos_auth import CosS3Auth
from qcloud_cos.cos_comm import format_xml, xml_to_dict

from mediaflow.local.demo import CallbackReceiver
from mediaflow.media import probe
from sample_docs import make_docx, make_pdf
from support import SPOKEN, speak, word_error_rate
from test_cos_sdk import as_list, cos, wait_for  # noqa: F401  (cos is a fixture)

pytestmark = pytest.mark.e2e
REGION = "us-east-1"
SENTENCES = SPOKEN
SPEECH = {"EngineModelType": "16k_en", "OutputFileType": "srt", "ResTextFormat": "1"}
QUEUES = {"asr": ("queue-speech-1", "asr_jobs"), "doc": ("queue-doc-process-1", "doc_jobs")}


@pytest.fixture(scope="module")
def receiver():
    server = CallbackReceiver()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def inputs(local_stack, tmp_path_factory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("speech-docs")
    bucket = local_stack.outputs["InputBucketName"]
    files = {"speech": speak(folder / "speech.wav", SENTENCES), "pdf": make_pdf(folder / "four.pdf", 4),
             "docx": make_docx(folder / "letter.docx", 2)}
    for path in files.values():
        local_stack.client("s3").upload_file(str(path), bucket, f"features/{path.name}")
    return {name: f"features/{path.name}" for name, path in files.items()} | {"speech_seconds": str(probe(str(files["speech"])).duration)}


def job_of(cos: CosS3Client, family: str, bucket: str, job_id: str) -> dict[str, Any]:
    getter = cos.ci_get_asr_job if family == "asr" else cos.ci_get_doc_job
    return as_list(getter(Bucket=bucket, JobID=job_id)["JobsDetail"])[0]


def finished(cos: CosS3Client, family: str, bucket: str, job_id: str, timeout: float = 180) -> dict[str, Any]:
    return wait_for(lambda: (lambda d: d if d["State"] in ("Success", "Failed") else None)(job_of(cos, family, bucket, job_id)),
                    timeout=timeout, what=f"{family} job {job_id}")


def task_finish(receiver: CallbackReceiver, job_id: str) -> dict[str, Any]:
    assert receiver.wait_for(lambda got: any(job_id.encode() in c["body"] for c in got), timeout=60), f"no callback for {job_id}"
    body = next(c["body"] for c in receiver.received if job_id.encode() in c["body"])
    message = xmltodict.parse(body)["Response"]
    assert message["EventName"] == "TaskFinish"
    return message["JobsDetail"]


def test_speech_is_recognised_and_the_owner_called_back(cos, local_stack, inputs, receiver) -> None:
    bucket, out = local_stack.outputs["InputBucketName"], local_stack.outputs["OutputBucketName"]
    created = cos.ci_create_asr_job(Bucket=bucket, OutputBucket=out, OutputRegion=REGION,
                                    OutputObject="features/out/${InputName}.srt", InputObject=inputs["speech"],
                                    SpeechRecognition=SPEECH, CallBack=receiver.url)
    job_id = as_list(created["JobsDetail"])[0]["JobId"]
    assert job_id.startswith("s")
    detail = finished(cos, "asr", bucket, job_id)
    assert detail["State"] == "Success", detail["Message"]
    result = detail["Operation"]["SpeechRecognitionResult"]
    assert word_error_rate(" ".join(SENTENCES), result["Result"]) <= 0.35, result["Result"]
    assert float(result["AudioTime"]) == pytest.approx(float(inputs["speech_seconds"]), abs=0.01)
    words = [w for sentence in as_list(result["ResultDetail"]) for w in as_list(sentence["Words"])]
    assert len(words) >= 8
    srt = local_stack.client("s3").get_object(Bucket=out, Key="features/out/speech.srt")["Body"].read().decode()
    assert srt.startswith("1\n") and " --> " in srt
    assert task_finish(receiver, job_id)["Operation"]["SpeechRecognitionResult"]["Result"] == result["Result"]


def test_document_pages_are_rendered_and_the_queue_calls_back(cos, local_stack, inputs, receiver) -> None:
    bucket, out = local_stack.outputs["InputBucketName"], local_stack.outputs["OutputBucketName"]
    queue_id = as_list(cos.ci_get_doc_queue(Bucket=bucket)["QueueList"])[0]["QueueId"]
    try:
        cos.ci_update_doc_queue(Bucket=bucket, QueueId=queue_id, Request={
            "Name": "queue-doc-process-1", "State": "Active",
            "NotifyConfig": {"State": "On", "Type": "Url", "Url": receiver.url, "Event": "TaskFinish"}})
        created = cos.ci_create_doc_job(Bucket=bucket, InputObject=inputs["pdf"], OutputBucket=out, OutputRegion=REGION,
                                        OutputObject="features/pages/${Number}.jpg", TgtType="jpg", StartPage=2, ImageDpi=120)
        job_id = as_list(created["JobsDetail"])[0]["JobId"]
        assert job_id.startswith("d")
        detail = finished(cos, "doc", bucket, job_id)
    finally:
        cos.ci_update_doc_queue(Bucket=bucket, QueueId=queue_id, Request={
            "Name": "queue-doc-process-1", "State": "Active", "NotifyConfig": {"State": "Off"}})
    assert detail["State"] == "Success", detail["Message"]
    result = detail["Operation"]["DocProcessResult"]
    assert (result["TotalPageCount"], result["SuccPageCount"]) == ("4", "3")
    assert [p["PageNo"] for p in as_list(result["PageInfo"])] == ["2", "3", "4"]
    listed = local_stack.client("s3").list_objects_v2(Bucket=out, Prefix="features/pages/")["Contents"]
    assert sorted(o["Key"] for o in listed) == [f"features/pages/{n}.jpg" for n in (1, 2, 3)]
    assert task_finish(receiver, job_id)["Operation"]["DocProcessResult"]["SuccPageCount"] == "3"


def test_an_office_document_is_converted_by_the_converter_function(cos, local_stack, inputs) -> None:
    bucket, out = local_stack.outputs["InputBucketName"], local_stack.outputs["OutputBucketName"]
    created = cos.ci_create_doc_job(Bucket=bucket, InputObject=inputs["docx"], OutputBucket=out, OutputRegion=REGION,
                                    OutputObject="features/letter/${Page}.png", TgtType="png")
    detail = finished(cos, "doc", bucket, as_list(created["JobsDetail"])[0]["JobId"])
    assert detail["State"] == "Success", detail["Message"]
    assert detail["Operation"]["DocProcessResult"]["TotalPageCount"] == "2"
    listed = local_stack.client("s3").list_objects_v2(Bucket=out, Prefix="features/letter/")["Contents"]
    assert sorted(o["Key"] for o in listed) == ["features/letter/1.png", "features/letter/2.png"]
    from mediaflow.control.jobs import get_job

    work = f"mediaflow-work/{get_job(detail['JobId']).execution_id}/"  # its own run's: other tests' runs may still work
    assert local_stack.client("s3").list_objects_v2(Bucket=out, Prefix=work)["KeyCount"] == 0


def post_job(cos: CosS3Client, bucket: str, path: str, request: dict[str, Any]) -> str:
    """A job request with what the SDK's helpers do not send (Operation.JobLevel), signed and sent by the SDK."""
    url = cos._conf.uri(bucket=bucket, path=path, endpoint=cos._conf._endpoint_ci)
    answer = cos.send_request(method="POST", url=url, bucket=bucket, data=format_xml(data=request, root="Request"),
                              auth=CosS3Auth(cos._conf, path), headers={"Content-Type": "application/xml"}, ci_request=True)
    return as_list(xml_to_dict(answer.content)["JobsDetail"])[0]["JobId"]


@pytest.mark.parametrize("family", ["asr", "doc"])
def test_a_paused_queue_holds_jobs_and_starts_the_urgent_one_first(cos, local_stack, inputs, family) -> None:
    bucket, out = local_stack.outputs["InputBucketName"], local_stack.outputs["OutputBucketName"]
    name, path = QUEUES[family]
    get_queue, update_queue = ((cos.ci_get_asr_queue, cos.ci_update_asr_queue) if family == "asr"
                               else (cos.ci_get_doc_queue, cos.ci_update_doc_queue))
    queue_id = as_list(get_queue(Bucket=bucket)["QueueList"])[0]["QueueId"]

    def operation(level: int, key: str) -> dict[str, Any]:
        if family == "asr":
            return {"SpeechRecognition": SPEECH, "JobLevel": str(level), "Output": {"Bucket": out, "Object": key + ".srt"}}
        return {"DocProcess": {"TgtType": "png"}, "JobLevel": str(level), "Output": {"Bucket": out, "Object": key + "-${Page}.png"}}

    source = inputs["speech" if family == "asr" else "pdf"]
    try:
        update_queue(Bucket=bucket, QueueId=queue_id, Request={"Name": name, "State": "Paused", "MaxConcurrent": "1"})
        low, high = (post_job(cos, bucket, f"/{path}", {"Tag": "SpeechRecognition" if family == "asr" else "DocProcess",
                                                        "Input": {"Object": source}, "QueueId": queue_id,
                                                        "Operation": operation(level, f"features/{family}-{level}")})
                     for level in (0, 2))
        assert {job_of(cos, family, bucket, j)["State"] for j in (low, high)} == {"Pause"}
        update_queue(Bucket=bucket, QueueId=queue_id, Request={"Name": name, "State": "Active"})
        first, second = finished(cos, family, bucket, high), finished(cos, family, bucket, low)
    finally:
        update_queue(Bucket=bucket, QueueId=queue_id, Request={"Name": name, "State": "Active", "MaxConcurrent": "10"})
    assert (first["State"], second["State"]) == ("Success", "Success"), (first["Message"], second["Message"])
    assert first["EndTime"] <= second["StartTime"], "the JobLevel 2 job did not run before the one queued earlier"
