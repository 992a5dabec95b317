"""The HTTP API on the local stack: real HTTP requests to the local front reach the deployed ApiFunction
(in its own worker process), signed by Tencent's own SDKs."""

from __future__ import annotations

import base64
import json
from urllib.parse import urlsplit

import pytest
import requests
import xmltodict
from qcloud_cos import CosConfig
from qcloud_cos.cos_auth import CosS3Auth
from tencentcloud.common import credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.mps.v20190612 import models, mps_client

from mediaflow.local.front import ApiFront

pytestmark = pytest.mark.e2e


def test_openapi_document_is_served(local_stack) -> None:
    reply = requests.get(f"{local_stack.api_url}/openapi.json", timeout=30)
    assert reply.status_code == 200 and reply.headers["Content-Type"] == "application/json"
    assert reply.json()["info"]["title"] == "mediaflow"
    assert reply.headers["x-ci-request-id"]


def test_docs_page_renders_the_contract_from_bundled_assets(local_stack) -> None:
    """/docs is Swagger UI from the npm package built into the layer: page and assets come from the API
    itself, unsigned, and the page reads the served contract (no CDN)."""
    page = requests.get(f"{local_stack.api_url}/docs", timeout=30)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert 'url: "openapi.json"' in page.text and "//" not in page.text.split("<body>", 1)[1]
    for asset, kind, marker in (("swagger-ui-bundle.js", "text/javascript", "SwaggerUIBundle"),
                                ("swagger-ui.css", "text/css", ".swagger-ui")):
        reply = requests.get(f"{local_stack.api_url}/docs/{asset}", timeout=30)
        assert reply.status_code == 200 and reply.headers["Content-Type"] == kind, asset
        assert marker in reply.text and len(reply.content) > 100_000, asset
    assert requests.get(f"{local_stack.api_url}/docs/../queue", timeout=30).status_code in (403, 404)


def test_unsigned_request_gets_the_xml_error(local_stack) -> None:
    reply = requests.get(f"{local_stack.api_url}/queue", timeout=30)
    assert reply.status_code == 403
    error = xmltodict.parse(reply.content)["Error"]
    assert error["Code"] == "AccessDenied"
    assert error["RequestId"] == reply.headers["x-ci-request-id"]


def test_signed_request_reaches_the_route(local_stack) -> None:
    bucket = "frontbucket-1250000000"
    url = f"{local_stack.api_url}/buckets/{bucket}/queue"
    conf = CosConfig(Region="ap-guangzhou", SecretId=local_stack.secret_id, SecretKey=local_stack.secret_key)
    # The Host goes into the signature as sent (with its port), as the front passes it on.
    reply = requests.get(url, headers={"Host": urlsplit(url).netloc},
                         auth=CosS3Auth(conf, f"/buckets/{bucket}/queue"), timeout=30)
    assert reply.status_code == 200, reply.text
    assert xmltodict.parse(reply.content)["Response"]["QueueList"]["BucketId"] == bucket


def test_mps_sdk_call_is_authenticated(local_stack) -> None:
    endpoint = urlsplit(local_stack.api_url).netloc
    profile = ClientProfile(httpProfile=HttpProfile(protocol="http", endpoint=endpoint))
    client = mps_client.MpsClient(credential.Credential(local_stack.secret_id, local_stack.secret_key), "ap-guangzhou", profile)
    try:
        client.DescribeTasks(models.DescribeTasksRequest())
    except TencentCloudSDKException as error:  # whatever the action answers, the signature was accepted
        assert not str(error.get_code()).startswith("AuthFailure"), error

    wrong = mps_client.MpsClient(credential.Credential(local_stack.secret_id, "not-the-key"), "ap-guangzhou", profile)
    with pytest.raises(TencentCloudSDKException) as refused:
        wrong.DescribeTasks(models.DescribeTasksRequest())
    # Refused with HTTP 403, which the SDK reports as ServerNetworkError carrying the body (TencentCloud
    # itself answers AuthFailure with 200, and the SDK would then raise the error's own Code).
    body = refused.value.get_message()
    body = json.loads(body.decode() if isinstance(body, bytes) else body)
    assert body["Response"]["Error"]["Code"] == "AuthFailure.SignatureFailure"


def test_request_body_reaches_the_route(local_stack) -> None:
    bucket = "frontbucket-1250000000"
    conf = CosConfig(Region="ap-guangzhou", SecretId=local_stack.secret_id, SecretKey=local_stack.secret_key)

    def signed(method: str, path: str, body: bytes = b"") -> requests.Response:
        url = f"{local_stack.api_url}/buckets/{bucket}{path}"
        # Not a text type: the front hands the body over base64-encoded, as API Gateway does.
        headers = {"Host": urlsplit(url).netloc, "Content-Type": "application/octet-stream"}
        return requests.request(method, url, data=body or None, headers=headers,
                                auth=CosS3Auth(conf, f"/buckets/{bucket}{path}"), timeout=30)

    queue_id = xmltodict.parse(signed("GET", "/queue").content)["Response"]["QueueList"]["QueueId"]
    reply = signed("PUT", f"/queue/{queue_id}", "<Request><Name>caf\u00e9".encode())  # cut short
    assert reply.status_code == 400, reply.text
    assert xmltodict.parse(reply.content)["Error"]["Code"] == "InvalidContent"


# ----------------------------------------------------------------- the front itself (no stack needed)
def test_front_builds_payload_v2_events_and_answers_with_the_result() -> None:
    seen: list[dict] = []

    def echo(event: dict) -> dict:
        seen.append(event)
        return {"statusCode": 201, "headers": {"X-One": "1"}, "multiValueHeaders": {"X-Many": ["a", "b"]},
                "cookies": ["c=1"], "body": base64.b64encode(b"\x00\x01").decode(), "isBase64Encoded": True}

    front = ApiFront(echo, port=0).start()
    try:
        reply = requests.post(f"{front.url}/buckets/b1/jobs?cancel&x=1&x=2", data=b"\xff\xfe",
                              headers={"Host": "bk1.ci.ap-guangzhou.myqcloud.com", "Cookie": "a=1; b=2",
                                       "Content-Type": "application/octet-stream"}, timeout=10)
    finally:
        front.stop()
    assert (reply.status_code, reply.content, reply.headers["X-One"], reply.cookies.get("c")) == (201, b"\x00\x01", "1", "1")
    assert reply.headers["X-Many"] == "a, b"
    event = seen[0]
    assert (event["version"], event["routeKey"], event["rawPath"], event["rawQueryString"]) == ("2.0", "$default", "/buckets/b1/jobs", "cancel&x=1&x=2")
    assert event["queryStringParameters"] == {"cancel": "", "x": "1,2"}
    assert event["headers"]["host"] == event["requestContext"]["domainName"] == "bk1.ci.ap-guangzhou.myqcloud.com"
    assert event["cookies"] == ["a=1", "b=2"] and "cookie" not in event["headers"]
    assert event["isBase64Encoded"] and base64.b64decode(event["body"]) == b"\xff\xfe"
    assert event["requestContext"]["http"]["method"] == "POST" and event["requestContext"]["stage"] == "$default"


def test_front_answers_502_when_the_function_fails() -> None:
    def failing(event: dict) -> dict:
        raise RuntimeError("Task timed out after 29.00 seconds")

    front = ApiFront(failing, port=0).start()
    try:
        reply = requests.get(f"{front.url}/queue", timeout=10)
    finally:
        front.stop()
    assert reply.status_code == 502 and reply.json()["message"] == "Internal Server Error"


def test_front_refuses_a_body_over_api_gateways_limit_before_reading_it() -> None:
    import socket

    seen: list[dict] = []
    front = ApiFront(lambda event: seen.append(event) or {"statusCode": 200, "body": ""}, port=0).start()
    host, port = front.server.server_address[:2]
    try:
        # 256 MB announced, none of it sent: the answer comes at once, without waiting for the body.
        with socket.create_connection((host, port), timeout=5) as raw:
            raw.sendall(b"POST /jobs HTTP/1.1\r\nHost: bk1.ci.ap-guangzhou.myqcloud.com\r\n"
                        b"Content-Length: 268435456\r\n\r\n")
            answer = raw.recv(4096)
        chunked = requests.post(f"{front.url}/jobs", data=iter([b"<Request/>"]), timeout=10)
        at_limit = requests.post(f"{front.url}/jobs", data=b"x" * (10 * 1024 * 1024), timeout=30)
    finally:
        front.stop()
    assert answer.startswith(b"HTTP/1.1 413") and b"Request Entity Too Large" in answer
    assert chunked.status_code == 200 and at_limit.status_code == 200
    assert len(seen) == 2  # only the requests within the limit reached the function
