"""The API function in-process on the template's stack in moto: HTTP API (payload v2.0) events, signed
by the Tencent SDK's own signer, through `mediaflow.faces.app.handler` and the thin Lambda handler."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
import xmltodict
from pydantic import BaseModel
from support import LambdaContext, import_handler
from support import cos_event as event

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
SDK_HOST = "hostbucket-1250000000.ci.ap-guangzhou.myqcloud.com"  # what cos-python-sdk-v5 calls for CI


def api_app():
    # Imported when used, not at collection: Powertools reads its settings from the environment on import.
    from mediaflow.faces import app

    return app


def xml(result: dict) -> dict:
    return xmltodict.parse(result["body"])


def queue_bucket(result: dict) -> str:
    assert result["statusCode"] == 200, result["body"]
    return xml(result)["Response"]["QueueList"]["BucketId"]


def test_bucket_from_the_sdk_host(serve) -> None:
    result = serve(event("GET", f"https://{SDK_HOST}/queue"))
    assert queue_bucket(result) == "hostbucket-1250000000"  # the whole first label, appid included
    request_id = result["headers"]["x-ci-request-id"]
    assert request_id and xml(result)["Response"]["RequestId"] == request_id


def test_bucket_from_the_path_is_stripped_before_routing(serve) -> None:
    assert queue_bucket(serve(event("GET", "http://127.0.0.1/buckets/pathbucket-1250000000/queue"))) == "pathbucket-1250000000"


def test_bucket_defaults_to_the_stack_input_bucket(serve, stack) -> None:
    default = stack.outputs["InputBucketName"]
    assert queue_bucket(serve(event("GET", "https://a1b2c3.execute-api.us-east-1.amazonaws.com/queue"))) == default
    assert queue_bucket(serve(event("GET", "http://localhost/queue"))) == default


@pytest.mark.parametrize(("host", "bucket"), [
    ("b-1250000000.ci.ap-guangzhou.myqcloud.com", "b-1250000000"),
    ("media.example.com:8443", "media"),
    ("bk1.localhost:4567", "bk1"),
    ("example.com", None),
    ("localhost", None),
    ("127.0.0.1:4567", None),
    ("[::1]:4567", None),
    ("x1.execute-api.eu-west-1.amazonaws.com", None),
])
def test_bucket_from_host(host: str, bucket: str | None) -> None:
    assert api_app().bucket_from_host(host) == bucket


def test_unsigned_request_is_refused_in_xml(serve) -> None:
    result = serve(event("GET", f"https://{SDK_HOST}/queue", sign=False))
    assert result["statusCode"] == 403
    error = xml(result)["Error"]
    assert error["Code"] == "AccessDenied" and error["RequestId"] == result["headers"]["x-ci-request-id"]


def test_wrong_key_is_refused(serve) -> None:
    result = serve(event("GET", f"https://{SDK_HOST}/queue", secret="not-the-secret"))
    assert result["statusCode"] == 403 and xml(result)["Error"]["Code"] == "AccessDenied"


def test_path_style_signature_covers_the_bucket(serve) -> None:
    """The client signs /buckets/<b>/..., so the bucket cannot be swapped after signing."""
    signed = event("GET", "http://127.0.0.1/buckets/mine-1250000000/queue")
    signed["rawPath"] = signed["requestContext"]["http"]["path"] = "/buckets/theirs-1250000000/queue"
    assert serve(signed)["statusCode"] == 403


def test_a_bucket_named_by_the_host_needs_the_host_signed(serve) -> None:
    """Signed without the Host (the SDK's SignHost=False), a request would be good for every bucket."""
    unsigned_host = event("GET", f"https://{SDK_HOST}/queue", sign_host=False)
    assert "host" not in unsigned_host["headers"]["authorization"].split("q-header-list=")[1].split("&")[0]
    result = serve(unsigned_host)
    assert result["statusCode"] == 403
    error = xml(result)["Error"]
    assert error["Code"] == "AccessDenied" and "host must be signed" in error["Message"]
    assert queue_bucket(serve(event("GET", f"https://{SDK_HOST}/queue"))) == "hostbucket-1250000000"
    # path style: the bucket is in the signed path; no bucket in the Host: the stack's input bucket
    assert queue_bucket(serve(event("GET", "http://127.0.0.1/buckets/pathbucket-1250000000/queue", sign_host=False))) == (
        "pathbucket-1250000000")
    assert serve(event("GET", "http://localhost/queue", sign_host=False))["statusCode"] == 200


def test_a_cos_request_to_the_bucket_root_is_not_an_mps_action(serve) -> None:
    """A COS-signed POST /buckets/<b>/ carrying X-TC-Action (unsigned there) reaches no MPS action."""
    result = serve(event("POST", "http://127.0.0.1/buckets/mine-1250000000/", body=b"{}",
                         headers={"X-TC-Action": "DescribeTasks", "Content-Type": "application/json"}))
    assert result["statusCode"] == 404 and b"<Code>NoSuchRoute</Code>" in result["body"].encode()


def test_unknown_route_is_404(serve) -> None:
    result = serve(event("GET", f"https://{SDK_HOST}/no-such-thing"))
    assert result["statusCode"] == 404
    assert xml(result)["Error"]["Code"] == "NoSuchRoute"


def test_bad_path_style_bucket_is_400(serve) -> None:
    result = serve(event("GET", "http://127.0.0.1/buckets/Not_A_Bucket/queue"))
    assert result["statusCode"] == 400 and xml(result)["Error"]["Code"] == "InvalidArgument"


def test_validation_error_in_a_route_is_400_naming_the_field(serve, monkeypatch) -> None:
    class Limits(BaseModel):
        MaxConcurrent: int

    def invalid(*args, **kwargs):
        Limits.model_validate({"MaxConcurrent": "many"})

    monkeypatch.setattr("mediaflow.faces.cos.queues.list_queues", invalid)
    result = serve(event("GET", f"https://{SDK_HOST}/queue"))
    assert result["statusCode"] == 400
    error = xml(result)["Error"]
    assert error["Code"] == "InvalidArgument" and "MaxConcurrent" in error["Message"]


def test_unexpected_error_is_500_without_details(serve, monkeypatch) -> None:
    def broken(*args, **kwargs):
        raise RuntimeError("table password is hunter2")

    monkeypatch.setattr("mediaflow.faces.cos.queues.list_queues", broken)
    result = serve(event("GET", f"https://{SDK_HOST}/queue"))
    assert result["statusCode"] == 500
    error = xml(result)["Error"]
    assert error["Code"] == "InternalError" and "hunter2" not in result["body"]
    assert result["headers"]["x-ci-request-id"] in error["Message"]


def test_json_face_unsigned_is_refused_in_json(serve) -> None:
    request = event("POST", "https://mps.tencentcloudapi.com/", sign=False, body=b'{"TaskId": "x"}',
                    headers={"Content-Type": "application/json", "X-TC-Action": "DescribeTaskDetail"})
    result = serve(request)
    assert result["statusCode"] == 403
    response = json.loads(result["body"])["Response"]
    assert response["Error"]["Code"] == "AuthFailure.SignatureFailure"
    assert response["RequestId"] == result["headers"]["x-ci-request-id"]


def test_openapi_document_is_served_unsigned_through_the_lambda_handler(stack, handler_env) -> None:
    api = import_handler("api", {**handler_env, "INPUT_BUCKET": stack.outputs["InputBucketName"]})
    result = api.handler(event("GET", "https://a1b2c3.execute-api.us-east-1.amazonaws.com/openapi.json", sign=False),
                         LambdaContext())
    assert result["statusCode"] == 200
    document = json.loads(result["body"])
    assert document["info"]["title"] == "mediaflow" and "/queue" in document["paths"]
    assert document == json.loads((ROOT / "docs" / "openapi.json").read_text())


def test_access_keys_secret_is_generated_as_cloudformation_would(stack) -> None:
    """moto's CloudFormation has no AWS::SecretsManager::Secret: the local deployer makes it from the
    template's GenerateSecretString (SecretId from the stack id, a 40-character SecretKey)."""
    pair = json.loads(boto3.client("secretsmanager").get_secret_value(SecretId=stack.outputs["AccessKeysSecretArn"])["SecretString"])
    assert pair["SecretId"] == "AKIDmediaflow" + stack.stack_id.rsplit("/", 1)[1].replace("-", "")
    assert len(pair["SecretKey"]) == 40 and pair["SecretKey"].isalnum()
    assert stack.outputs["ApiUrl"] == f"https://{stack.resources['Api']}.execute-api.us-east-1.amazonaws.com/"


def test_checked_in_openapi_document_is_current() -> None:
    assert json.loads((ROOT / "docs" / "openapi.json").read_text()) == json.loads(api_app().openapi_document()), (
        "docs/openapi.json is out of date; regenerate it with: .venv/bin/mediaflow openapi > docs/openapi.json")


def test_each_job_family_takes_and_lists_its_own_tags(serve, stack) -> None:
    bucket = stack.outputs["InputBucketName"]
    boto3.client("s3").put_object(Bucket=bucket, Key="in/a.wav", Body=b"RIFF")
    base = f"http://127.0.0.1/buckets/{bucket}"

    def post(path: str, tag: str, operation: str, queue: str = "") -> dict:
        body = (f"<Request><Tag>{tag}</Tag><Input><Object>in/a.wav</Object></Input>{queue}"
                f"<Operation>{operation}<Output><Object>out/a.${{ext}}</Object></Output></Operation></Request>")
        return serve(event("POST", f"{base}/{path}", body=body.encode(), headers={"Content-Type": "application/xml"}))

    speech = "<SpeechRecognition><EngineModelType>16k_en</EngineModelType></SpeechRecognition>"
    created = post("asr_jobs", "SpeechRecognition", speech)
    assert created["statusCode"] == 200, created["body"]
    job_id = xml(created)["Response"]["JobsDetail"]["JobId"]
    assert job_id.startswith("s")
    refused = post("jobs", "SpeechRecognition", speech)
    assert refused["statusCode"] == 400 and "Transcode" in xml(refused)["Error"]["Message"]
    media_queue = xml(serve(event("GET", f"{base}/queue")))["Response"]["QueueList"]["QueueId"]
    wrong_queue = post("asr_jobs", "SpeechRecognition", speech, f"<QueueId>{media_queue}</QueueId>")
    assert wrong_queue["statusCode"] == 400 and "speech queue" in xml(wrong_queue)["Error"]["Message"]

    def listed(path: str) -> list[str]:
        found = xml(serve(event("GET", f"{base}/{path}?size=10")))["Response"].get("JobsDetail") or []
        return [j["JobId"] for j in (found if isinstance(found, list) else [found])]

    assert listed("asr_jobs") == [job_id] and job_id not in listed("jobs") and listed("doc_jobs") == []
    described = xml(serve(event("GET", f"{base}/asr_jobs/{job_id}")))["Response"]["JobsDetail"]
    assert described["Tag"] == "SpeechRecognition" and described["State"] == "Submitted"
    assert serve(event("PUT", f"{base}/asr_jobs/{job_id}?cancel"))["statusCode"] == 200
