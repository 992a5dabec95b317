"""Request-signature verification: signatures are made by the real SDKs, then checked by mediaflow.faces.auth."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import time
from urllib.parse import parse_qsl, urlsplit

import boto3
import pytest
import requests
from mediaflow import aws
from mediaflow.exceptions import AccessDeniedError, InvalidInputError, MediaflowError
from mediaflow.faces import auth
from mediaflow.faces.auth import SignedRequest, access_keys, verify_cos, verify_tc3
from mediaflow.faces.routing import parse_query
from moto import mock_aws
from qcloud_cos import CosConfig
from qcloud_cos.cos_auth import CosS3Auth
from tencentcloud.common.common_client import CommonClient
from tencentcloud.common.credential import Credential
from tencentcloud.common.http.request import RequestInternal
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile

pytestmark = pytest.mark.unit

KEY_ID = "AKIDmediaflowtest0000000000000000"
SECRET = "mediaflow-test-secret-key-000000"
KEYS = {KEY_ID: SECRET}
HOST = "mybucket-1250000000.ci.ap-guangzhou.myqcloud.com"
JOB_XML = b"<Request><Tag>Transcode</Tag><Input><Object>in/a.mp4</Object></Input></Request>"


# --- COS: signed by qcloud_cos.CosS3Auth ----------------------------------------------------------


def cos_request(
    method: str,
    path: str,
    params: dict[str, str] | None = None,
    *,
    raw_query: str = "",
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    secret_id: str = KEY_ID,
    secret_key: str = SECRET,
    expire: int = 10000,
) -> SignedRequest:
    """Sign as the SDK does (Host and Content-Type set, params signed; the window is [now - 60, now +
    expire]) and turn it into a SignedRequest."""
    url = f"https://{HOST}{path}" + (f"?{raw_query}" if raw_query else "")
    all_headers = {"Host": HOST, "Content-Type": "application/xml", **(headers or {})}
    prepared = requests.Request(method, url, params=params, headers=all_headers, data=body).prepare()
    signed_params = dict(params or {}) | dict(parse_qsl(raw_query, keep_blank_values=True))
    conf = CosConfig(Region="ap-guangzhou", SecretId=secret_id, SecretKey=secret_key)
    CosS3Auth(conf, path, params=signed_params, expire=expire)(prepared)
    return to_signed(prepared)


def to_signed(prepared: requests.PreparedRequest) -> SignedRequest:
    url = urlsplit(prepared.url)
    body = prepared.body or b""
    return SignedRequest(
        method=prepared.method,
        path=url.path,
        query=dict(parse_qsl(url.query, keep_blank_values=True)),
        headers=dict(prepared.headers),
        body=body.encode() if isinstance(body, str) else body,
    )


def with_header(request: SignedRequest, name: str, value: str) -> SignedRequest:
    headers = {k: v for k, v in request.headers.items() if k.lower() != name.lower()}
    return dataclasses.replace(request, headers=headers | {name: value})


def denied(verify, request: SignedRequest, keys=KEYS, **kwargs) -> str:
    with pytest.raises(AccessDeniedError) as caught:
        verify(request, keys, **kwargs)
    assert caught.value.code == "AccessDenied"
    message = caught.value.message
    assert SECRET not in message
    return message


def test_cos_get_with_query_params_is_accepted():
    request = cos_request("GET", "/jobs", {"queueId": "p0123", "tag": "Transcode", "nextToken": "a b/c=d"})
    assert request.query["nextToken"] == "a b/c=d"
    assert verify_cos(request, KEYS) == KEY_ID


def test_cos_bare_flag_param_is_accepted():
    request = cos_request("PUT", "/jobs/j0123456789", raw_query="cancel")
    assert request.query == {"cancel": ""}
    assert verify_cos(request, KEYS) == KEY_ID


def test_cos_cancel_flag_the_sdk_appends_unsigned_is_accepted_but_no_other():
    # ci_cancel_jobs signs no parameters and appends "?cancel" to the URL afterwards.
    signed = cos_request("PUT", "/jobs/j0123456789")
    assert verify_cos(dataclasses.replace(signed, query={"cancel": ""}), KEYS) == KEY_ID
    assert "not signed" in denied(verify_cos, dataclasses.replace(signed, query={"cancel": "x"}))
    assert "not signed" in denied(verify_cos, dataclasses.replace(signed, query={"active": ""}))


def test_cos_post_with_body_is_accepted_and_header_names_are_case_insensitive():
    request = cos_request("POST", "/jobs", body=JOB_XML)
    assert verify_cos(request, KEYS) == KEY_ID
    # API Gateway hands the headers over lowercased.
    lowered = dataclasses.replace(request, headers={k.lower(): v for k, v in request.headers.items()})
    assert verify_cos(lowered, KEYS) == KEY_ID


def test_cos_without_authorization_is_refused():
    request = cos_request("GET", "/jobs")
    unsigned = dataclasses.replace(request, headers={k: v for k, v in request.headers.items() if k != "Authorization"})
    assert "missing Authorization" in denied(verify_cos, unsigned)


def test_cos_unknown_key_id_is_refused():
    request = cos_request("GET", "/jobs", secret_id="AKIDsomebodyelse")
    assert "unknown access key id" in denied(verify_cos, request)
    assert "unknown access key id" in denied(verify_cos, cos_request("GET", "/jobs"), keys={})


def test_cos_wrong_secret_is_refused():
    request = cos_request("GET", "/jobs", secret_key="not-the-secret")
    message = denied(verify_cos, request)
    assert message == "signature mismatch"


def test_cos_expired_signature_is_refused():
    request = cos_request("GET", "/jobs")
    assert "expired" in denied(verify_cos, request, now=time.time() + 86_400)


def test_cos_signature_not_yet_valid_is_refused():
    request = cos_request("GET", "/jobs")
    # The SDK starts the window 60 s back; 60 s more of skew is allowed, no more.
    assert verify_cos(request, KEYS, now=time.time() - 100) == KEY_ID
    assert "not yet valid" in denied(verify_cos, request, now=time.time() - 300)


def sign_time(request: SignedRequest) -> tuple[int, int]:
    window = request.headers["Authorization"].split("q-sign-time=")[1].split("&")[0]
    start, end = window.split(";")
    return int(start), int(end)


def test_cos_window_that_ends_before_it_starts_is_refused():
    request = cos_request("GET", "/jobs", expire=-85)  # [T - 60, T - 85]
    start, end = sign_time(request)
    assert end < start
    # now = T - 100 is after start - 60 s of skew and before the end: only the order gives it away
    assert "ends before it starts" in denied(verify_cos, request, now=start - 40)


def test_cos_window_longer_than_a_day_is_refused():
    century = cos_request("GET", "/jobs", expire=100 * 365 * 86400)
    assert "more than 24 hours" in denied(verify_cos, century)
    day = cos_request("GET", "/jobs", expire=86400 - 60)  # exactly 24 h with the SDK's 60 s back
    assert verify_cos(day, KEYS) == KEY_ID
    assert "more than 24 hours" in denied(verify_cos, cos_request("GET", "/jobs", expire=86400 - 59))


def test_cos_window_times_must_be_plain_short_integers():
    request = cos_request("GET", "/jobs")
    auth_header = request.headers["Authorization"]
    start, end = sign_time(request)
    for window in ("9" * 5000 + ";" + "9" * 5000, f"-{start};{end}", f"{start};{end};1", f"{start}", f"+{start};{end}"):
        forged = with_header(request, "Authorization", auth_header.replace(f"q-sign-time={start};{end}", f"q-sign-time={window}"))
        assert "malformed q-sign-time" in denied(verify_cos, forged)


def test_cos_tampered_header_is_refused():
    request = cos_request("POST", "/jobs", body=JOB_XML)
    assert denied(verify_cos, with_header(request, "Content-Type", "application/json")) == "signature mismatch"
    assert denied(verify_cos, with_header(request, "Host", "other-1250000000.ci.ap-guangzhou.myqcloud.com")) == (
        "signature mismatch"
    )


def test_cos_missing_signed_header_is_refused():
    request = cos_request("POST", "/jobs", body=JOB_XML)
    stripped = dataclasses.replace(request, headers={k: v for k, v in request.headers.items() if k != "Content-Type"})
    assert "content-type" in denied(verify_cos, stripped)


def test_cos_tampered_or_added_query_param_is_refused():
    request = cos_request("GET", "/jobs", {"queueId": "p0123", "tag": "Transcode"})
    changed = dataclasses.replace(request, query={"queueId": "p9999", "tag": "Transcode"})
    assert denied(verify_cos, changed) == "signature mismatch"
    added = dataclasses.replace(request, query=request.query | {"size": "100"})
    assert "not signed: size" in denied(verify_cos, added)
    dropped = dataclasses.replace(request, query={"queueId": "p0123"})
    assert "missing from the request: tag" in denied(verify_cos, dropped)


def test_cos_other_path_or_method_is_refused():
    request = cos_request("GET", "/jobs/j1")
    assert denied(verify_cos, dataclasses.replace(request, path="/jobs/j2")) == "signature mismatch"
    assert denied(verify_cos, dataclasses.replace(request, method="DELETE")) == "signature mismatch"


def test_cos_body_of_another_length_is_refused():
    request = cos_request("POST", "/jobs", body=JOB_XML)
    longer = dataclasses.replace(request, body=JOB_XML + b"<!-- more -->")
    assert "Content-Length" in denied(verify_cos, longer)


def test_cos_body_of_same_length_is_refused_when_content_md5_was_signed():
    md5 = base64.b64encode(hashlib.md5(JOB_XML).digest()).decode()
    request = cos_request("POST", "/jobs", body=JOB_XML, headers={"Content-MD5": md5})
    assert verify_cos(request, KEYS) == KEY_ID
    swapped = dataclasses.replace(request, body=JOB_XML.replace(b"a.mp4", b"b.mp4"))
    assert "Content-MD5" in denied(verify_cos, swapped)


def test_cos_body_of_same_length_without_content_md5_is_the_documented_limitation():
    # The verifier alone cannot tell; the API binds a signature to the body it first came with
    # (faces.replay; test_api_guard's captured-write tests).
    request = cos_request("POST", "/jobs", body=JOB_XML)
    swapped = dataclasses.replace(request, body=JOB_XML.replace(b"a.mp4", b"b.mp4"))
    assert verify_cos(swapped, KEYS) == KEY_ID


def test_the_query_is_parsed_once_and_a_name_given_twice_is_refused():
    assert parse_query("cancel&ids=a%2Cb&nextToken=a+b") == {"cancel": "", "ids": "a,b", "nextToken": "a b"}
    for raw in ("ids=a&ids=b", "ids=a&IDS=b", "cancel&cancel=", "a=1;a=2&a=3"):
        with pytest.raises(InvalidInputError, match="more than once"):
            parse_query(raw)
    assert parse_query("a=1;a=2") == {"a": "1;a=2"}  # ";" separates nothing (it is signed as part of the value)


def test_cos_malformed_authorization_is_refused():
    request = with_header(cos_request("GET", "/jobs"), "Authorization", "q-sign-algorithm=sha1&q-ak=x")
    assert "malformed Authorization" in denied(verify_cos, request)


# --- TC3: signed by the tencentcloud common client --------------------------------------------------


def tc3_request(
    action: str = "DescribeTaskDetail",
    params: dict | None = None,
    *,
    method: str = "POST",
    service: str = "mps",
    secret_id: str = KEY_ID,
    secret_key: str = SECRET,
) -> SignedRequest:
    """Build and sign the request the way AbstractClient does before sending it."""
    profile = ClientProfile(httpProfile=HttpProfile(endpoint="api.mediaflow.test", reqMethod=method))
    client = CommonClient(service, "2019-06-12", Credential(secret_id, secret_key), "ap-guangzhou", profile)
    internal = RequestInternal("api.mediaflow.test", method, "/")
    client._build_req_inter(action, params if params is not None else {"TaskId": "t-1"}, internal)
    query = dict(parse_qsl(internal.data, keep_blank_values=True)) if method == "GET" else {}
    body = b"" if method == "GET" else internal.data.encode()
    return SignedRequest(method=method, path="/", query=query, headers=dict(internal.header), body=body)


def test_tc3_post_is_accepted():
    request = tc3_request("ProcessMedia", {"InputInfo": {"Type": "COS"}, "Tag": "x"})
    assert request.headers["Authorization"].startswith("TC3-HMAC-SHA256 Credential=")
    assert verify_tc3(request, KEYS) == KEY_ID
    lowered = dataclasses.replace(request, headers={k.lower(): v for k, v in request.headers.items()})
    assert verify_tc3(lowered, KEYS) == KEY_ID


def test_tc3_get_with_query_is_accepted():
    request = tc3_request("DescribeTasks", {"Status": "FINISH", "Limit": 10, "ScrollToken": "a b/c"}, method="GET")
    assert request.query["ScrollToken"] == "a b/c"
    assert verify_tc3(request, KEYS) == KEY_ID
    changed = dataclasses.replace(request, query=request.query | {"Limit": "100"})
    assert denied(verify_tc3, changed) == "signature mismatch"


def test_tc3_vod_service_is_accepted_and_other_services_are_refused():
    assert verify_tc3(tc3_request(service="vod"), KEYS) == KEY_ID
    assert "service 'cvm'" in denied(verify_tc3, tc3_request(service="cvm"))


def test_tc3_expired_or_early_timestamp_is_refused():
    request = tc3_request()
    timestamp = int(request.headers["X-TC-Timestamp"])
    assert verify_tc3(request, KEYS, now=timestamp + 299) == KEY_ID
    assert "expired" in denied(verify_tc3, request, now=timestamp + 301)
    assert "expired" in denied(verify_tc3, request, now=timestamp - 301)


def test_tc3_wrong_secret_or_unknown_key_is_refused():
    assert denied(verify_tc3, tc3_request(secret_key="not-the-secret")) == "signature mismatch"
    assert "unknown access key id" in denied(verify_tc3, tc3_request(secret_id="AKIDsomebodyelse"))


def test_tc3_changed_body_is_refused():
    request = tc3_request("ProcessMedia", {"Tag": "a"})
    assert denied(verify_tc3, dataclasses.replace(request, body=request.body.replace(b'"a"', b'"b"'))) == (
        "signature mismatch"
    )


def test_tc3_tampered_signed_header_or_timestamp_is_refused():
    request = tc3_request()
    assert denied(verify_tc3, with_header(request, "Host", "evil.example")) == "signature mismatch"
    moved = with_header(request, "X-TC-Timestamp", str(int(request.headers["X-TC-Timestamp"]) + 1))
    assert denied(verify_tc3, moved) == "signature mismatch"


@pytest.mark.parametrize("timestamp", ["9" * 5000, "9" * 13, "1e9", "-1", "+1700000000", " ", "\u0661\u0662", "1.5"],
                         ids=["5000-digits", "13-digits", "exponent", "negative", "plus", "blank", "arabic-indic", "fraction"])
def test_tc3_timestamp_must_be_a_plain_short_integer(timestamp):
    assert "malformed X-TC-Timestamp" in denied(verify_tc3, with_header(tc3_request(), "X-TC-Timestamp", timestamp))


def test_tc3_credential_date_must_match_timestamp():
    request = tc3_request()
    auth_header = request.headers["Authorization"]
    date = auth_header.split("/")[1]
    forged = with_header(request, "Authorization", auth_header.replace(f"/{date}/", "/2001-01-01/"))
    assert "credential date" in denied(verify_tc3, forged)


def test_tc3_missing_or_other_authorization_is_refused():
    request = tc3_request()
    unsigned = dataclasses.replace(request, headers={k: v for k, v in request.headers.items() if k != "Authorization"})
    assert "missing Authorization" in denied(verify_tc3, unsigned)
    legacy = with_header(request, "Authorization", "HmacSHA256 whatever")
    assert "only TC3-HMAC-SHA256" in denied(verify_tc3, legacy)


def tc3_signed_with(request: SignedRequest, names: list[str]) -> SignedRequest:
    """The request signed again with `names` in SignedHeaders (the SDK signs content-type;host only)."""
    import hmac

    headers = {k.lower(): v for k, v in request.headers.items()}
    timestamp = headers["x-tc-timestamp"]
    date = time.strftime("%Y-%m-%d", time.gmtime(int(timestamp)))
    canonical = "\n".join(["POST", "/", "", "".join(f"{n}:{headers[n].strip().lower()}\n" for n in names), ";".join(names),
                           hashlib.sha256(request.body).hexdigest()])
    to_sign = "\n".join(["TC3-HMAC-SHA256", timestamp, f"{date}/mps/tc3_request", hashlib.sha256(canonical.encode()).hexdigest()])
    key = ("TC3" + SECRET).encode()
    for step in (date, "mps", "tc3_request"):
        key = hmac.new(key, step.encode(), "sha256").digest()
    signature = hmac.new(key, to_sign.encode(), "sha256").hexdigest()
    return with_header(request, "Authorization", f"TC3-HMAC-SHA256 Credential={KEY_ID}/{date}/mps/tc3_request, "
                                                 f"SignedHeaders={';'.join(names)}, Signature={signature}")


def test_tc3_x_tc_action_is_checked_when_the_client_signs_it():
    request = tc3_signed_with(tc3_request("DescribeTaskDetail"), ["content-type", "host", "x-tc-action"])
    assert verify_tc3(request, KEYS) == KEY_ID
    assert denied(verify_tc3, with_header(request, "X-TC-Action", "PullEvents")) == "signature mismatch"
    assert "x-tc-action" in denied(verify_tc3, dataclasses.replace(
        request, headers={k: v for k, v in request.headers.items() if k != "X-TC-Action"}))


def test_tc3_unsigned_payload_is_refused():
    request = with_header(tc3_request(), "X-TC-Content-SHA256", "UNSIGNED-PAYLOAD")
    assert "unsigned payload" in denied(verify_tc3, request)


# --- access keys ------------------------------------------------------------------------------------


@pytest.fixture
def clean_keys(monkeypatch: pytest.MonkeyPatch):
    for name in ("ACCESS_KEYS_SECRET_ARN", "MEDIAFLOW_ACCESS_KEY_ID", "MEDIAFLOW_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name, raising=False)
    auth.reset()
    yield monkeypatch
    auth.reset()


def test_access_keys_default_to_none(clean_keys):
    assert access_keys() == {}


def test_access_keys_from_environment(clean_keys):
    clean_keys.setenv("MEDIAFLOW_ACCESS_KEY_ID", KEY_ID)
    clean_keys.setenv("MEDIAFLOW_SECRET_ACCESS_KEY", SECRET)
    assert access_keys() == KEYS


@pytest.fixture
def secrets(clean_keys):
    clean_keys.setenv("AWS_DEFAULT_REGION", "us-east-1")
    clean_keys.setenv("AWS_ACCESS_KEY_ID", "testing")
    clean_keys.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    clean_keys.delenv("AWS_ENDPOINT_URL", raising=False)
    aws.reset()
    with mock_aws():
        yield boto3.client("secretsmanager")
    aws.reset()


def test_access_keys_from_secrets_manager_are_cached(secrets, clean_keys):
    pair = json.dumps({"SecretId": KEY_ID, "SecretKey": SECRET})
    arn = secrets.create_secret(Name="mediaflow/keys", SecretString=pair)["ARN"]
    clean_keys.setenv("ACCESS_KEYS_SECRET_ARN", arn)
    clean_keys.setenv("MEDIAFLOW_ACCESS_KEY_ID", "AKIDignored")  # the secret wins
    clean_keys.setenv("MEDIAFLOW_SECRET_ACCESS_KEY", "ignored")
    assert access_keys() == KEYS

    rotated = [{"SecretId": KEY_ID, "SecretKey": SECRET}, {"SecretId": "AKIDnext", "SecretKey": "next-secret"}]
    secrets.put_secret_value(SecretId=arn, SecretString=json.dumps(rotated))
    assert access_keys() == KEYS  # still the cached value
    auth.reset()
    assert access_keys() == KEYS | {"AKIDnext": "next-secret"}


def test_malformed_secret_is_an_error_that_does_not_leak_it(secrets, clean_keys):
    wrong = json.dumps({"SecretId": KEY_ID, "Key": SECRET})
    arn = secrets.create_secret(Name="mediaflow/bad", SecretString=wrong)["ARN"]
    clean_keys.setenv("ACCESS_KEYS_SECRET_ARN", arn)
    with pytest.raises(MediaflowError) as caught:
        access_keys()
    assert SECRET not in str(caught.value)


def test_cos_host_signed_without_the_port_it_was_sent_with_is_accepted():
    # requests sends "host:port" while CosS3Auth signs the URL's host name alone.
    request = cos_request("GET", "/queue")
    assert verify_cos(with_header(request, "Host", HOST + ":4567"), KEYS) == KEY_ID
    assert denied(verify_cos, with_header(request, "Host", "other" + HOST + ":4567")) == "signature mismatch"
