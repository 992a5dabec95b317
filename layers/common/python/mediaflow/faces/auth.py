"""Request-signature verification for the two faces of the HTTP API.

Every request is signed by the client with an access key (SecretId/SecretKey) that the stack also
holds (`access_keys()`); the verifier recomputes the signature from what the request actually
carries and compares it in constant time. Neither the secret nor the expected signature is ever
put in an error message.

COS CI XML face (`verify_cos`), the COS "q-sign" scheme as cos-python-sdk-v5 signs it::

    Authorization: q-sign-algorithm=sha1&q-ak=<id>&q-sign-time=<start>;<end>&q-key-time=<start>;<end>
                   &q-header-list=<names>&q-url-param-list=<names>&q-signature=<hex>

    FormatString = method (lower) \\n path \\n params \\n headers \\n
        params / headers: "name=value" joined by "&", sorted by name; names url-quoted and lowercased,
        values url-quoted (only "-_.~" left as they are)
    StringToSign = "sha1" \\n q-sign-time \\n sha1hex(FormatString) \\n
    SignKey      = hex(HMAC-SHA1(secret, q-key-time))
    Signature    = hex(HMAC-SHA1(SignKey, StringToSign))

  Both time windows must contain now (60 s of clock skew allowed before the start), must not end
  before they start, and must not be longer than 24 hours (`COS_MAX_WINDOW`; the SDK's default is
  10 060 s), so a captured signature cannot be good for years. When the Host
  header names the bucket (virtual-hosted style), host must be in q-header-list. Every header in
  q-header-list must be present and every query parameter must be listed in q-url-param-list (and
  vice versa), so nothing unsigned can be slipped into the query. The one exception is a bare action
  flag that the SDK appends without signing (`PUT /jobs/<id>?cancel`): an empty `cancel` is allowed
  unsigned and left out of the signed string, as the SDK leaves it out.

  The scheme does not sign the body. When the client signed Content-Length and/or Content-MD5 (the
  SDK signs Content-Length whenever there is a body, Content-MD5 when it sends one), the body is
  checked against them: a body of another length, or with another MD5, is refused. Beyond that, a
  signature is bound to the first request it came with (`replay`), so the same signature with another
  body of the same length is refused; only Content-MD5 protects the body of a request that is changed
  before the genuine one arrives.

MPS JSON face (`verify_tc3`), TencentCloud API 3.0 TC3-HMAC-SHA256::

    Authorization: TC3-HMAC-SHA256 Credential=<id>/<yyyy-mm-dd>/<service>/tc3_request,
                   SignedHeaders=content-type;host, Signature=<hex>
    X-TC-Timestamp: <unix seconds>   (X-TC-Action, X-TC-Version, X-TC-Region, X-TC-Token: not signed)

    CanonicalRequest = METHOD \\n path \\n query \\n "name:value\\n" per signed header \\n
                       signed-header-names \\n sha256hex(body)
        header values trimmed and lowercased; query url-encoded as the SDK does (quote_plus, in order)
    StringToSign = "TC3-HMAC-SHA256" \\n timestamp \\n <date>/<service>/tc3_request \\n sha256hex(CanonicalRequest)
    SigningKey   = HMAC-SHA256 chain: "TC3"+secret -> date -> service -> "tc3_request"
    Signature    = hex(HMAC-SHA256(SigningKey, StringToSign))

  The timestamp must be a plain integer (at most 12 digits) within 300 s of now, the credential date must be its UTC date, the service
  "mps" (or "vod"). The body is always hashed; "UNSIGNED-PAYLOAD" is refused. The SDK signs only
  content-type and host, so X-TC-Action/Version/Region are not covered by its signatures; a client
  that adds x-tc-action to SignedHeaders has it checked like any signed header, and `replay` binds
  any signature to the action it first came with.

Building a `SignedRequest` from an API Gateway HTTP API (payload v2) event: path = rawPath (not the
decoded `path` of the route), query parsed once from rawQueryString with blank values kept
(`routing.parse_query`, which refuses a name given twice; the routes read that same dict), headers
as given (API Gateway lowercases names and joins repeated headers with commas), body base64-decoded
when isBase64Encoded, else UTF-8 encoded. The Host the client signed must be the host it actually
called.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import quote, unquote, urlencode

from .. import aws
from ..exceptions import AccessDeniedError, MediaflowError
from .keys import ApiKey, parse_keys

COS_CLOCK_SKEW = 60  # seconds a COS q-sign-time may start in the future
COS_MAX_WINDOW = 24 * 3600  # seconds a COS q-sign-time / q-key-time may span
MAX_TIME_DIGITS = 12  # a Unix time in seconds, with room to spare (longer ones are refused unparsed)
TC3_MAX_SKEW = 300  # seconds X-TC-Timestamp may be away from now
TC3_SERVICES = frozenset({"mps", "vod"})
KEYS_TTL = 300.0  # seconds the keys read from Secrets Manager are reused

_COS_FIELDS = (
    "q-sign-algorithm", "q-ak", "q-sign-time", "q-key-time", "q-header-list", "q-url-param-list", "q-signature",
)


@dataclass(frozen=True)
class SignedRequest:
    method: str  # "GET", "POST", ...
    path: str  # the raw path as the client sent and signed it, e.g. "/jobs" or "/buckets/b1/jobs"
    query: dict[str, str]  # decoded query parameters; a bare "?cancel" gives {"cancel": ""}
    headers: dict[str, str]  # any case; looked up case-insensitively
    body: bytes


# --- COS q-sign ---------------------------------------------------------------------------------


# Bare flags the SDK puts on the URL after signing (ci_cancel_jobs); they carry no value to tamper with.
UNSIGNED_FLAGS = frozenset({"cancel"})


def verify_cos(request: SignedRequest, keys: Mapping[str, str], *, now: float | None = None,
               host_names_bucket: bool = False) -> str:
    """Check a COS-signed request; return its access key id or raise AccessDeniedError.

    `host_names_bucket`: the bucket comes from the Host header (virtual-hosted style), so the signature
    must cover the Host, or it would be good for every bucket."""
    now = time.time() if now is None else now
    headers = _lower_keys(request.headers)
    fields = _cos_fields(headers.get("authorization", ""))

    if fields["q-sign-algorithm"].lower() != "sha1":
        raise AccessDeniedError("unsupported q-sign-algorithm (only sha1)")
    key_id = fields["q-ak"]
    secret = keys.get(key_id)
    if not secret:
        raise AccessDeniedError("unknown access key id")
    _check_cos_window(fields["q-sign-time"], now, "q-sign-time")
    _check_cos_window(fields["q-key-time"], now, "q-key-time")

    signed_headers = _cos_names(fields["q-header-list"])
    if host_names_bucket and "host" not in signed_headers:
        raise AccessDeniedError("the Host header names the bucket, so host must be signed (it is not in q-header-list)")
    present = {_cos_quote(name).lower(): value for name, value in headers.items()}
    missing = [name for name in signed_headers if name not in present]
    if missing:
        raise AccessDeniedError(f"signed header(s) missing from the request: {', '.join(missing)}")

    params = {_cos_quote(k).lower(): _cos_quote(v) for k, v in request.query.items()}
    if len(params) != len(request.query):
        raise AccessDeniedError("query parameters differ only in case")
    signed_params = set(_cos_names(fields["q-url-param-list"]))
    for flag in UNSIGNED_FLAGS - signed_params:
        if params.get(flag) == "":
            del params[flag]
    if unsigned := sorted(params.keys() - signed_params):
        raise AccessDeniedError(f"query parameter(s) not signed: {', '.join(unsigned)}")
    if absent := sorted(signed_params - params.keys()):
        raise AccessDeniedError(f"signed query parameter(s) missing from the request: {', '.join(absent)}")

    params_str = "&".join(f"{k}={params[k]}" for k in sorted(params))
    # The SDK signs the URL's host name without its port, while the Host header sent carries it.
    hosts = dict.fromkeys([present.get("host", ""), present.get("host", "").rsplit(":", 1)[0]])
    sign_key = _hmac(secret.encode(), fields["q-key-time"].encode(), "sha1").hex().encode()
    # The SDK signs an object key before URL-encoding it, so "/a%20b" was signed as "/a b".
    paths = dict.fromkeys([request.path or "/", unquote(request.path or "/")])
    for path, host in ((p, h) for p in paths for h in hosts):
        signed = present | ({"host": host} if "host" in present else {})
        headers_str = "&".join(f"{k}={_cos_quote(signed[k])}" for k in sorted(signed_headers))
        format_str = f"{request.method.lower()}\n{path}\n{params_str}\n{headers_str}\n"
        to_sign = f"sha1\n{fields['q-sign-time']}\n{hashlib.sha1(format_str.encode()).hexdigest()}\n"
        expected = _hmac(sign_key, to_sign.encode(), "sha1").hex()
        if hmac.compare_digest(expected.encode(), fields["q-signature"].lower().encode()):
            break
    else:
        raise AccessDeniedError("signature mismatch")

    # The signature covers the headers, not the body: hold the body to the signed headers.
    if "content-length" in signed_headers and present["content-length"].strip() != str(len(request.body)):
        raise AccessDeniedError("body does not match the signed Content-Length")
    if "content-md5" in signed_headers:
        md5 = base64.b64encode(hashlib.md5(request.body).digest())
        if not hmac.compare_digest(md5, present["content-md5"].strip().encode()):
            raise AccessDeniedError("body does not match the signed Content-MD5")
    return key_id


def _cos_fields(authorization: str) -> dict[str, str]:
    if not authorization:
        raise AccessDeniedError("missing Authorization header")
    fields = dict(part.partition("=")[::2] for part in authorization.strip().split("&"))
    missing = [name for name in _COS_FIELDS if name not in fields]
    if missing:
        raise AccessDeniedError(f"malformed Authorization: missing {', '.join(missing)}")
    return fields


def _check_cos_window(window: str, now: float, name: str) -> int:
    """Check a "<start>;<end>" window; return its end."""
    times = window.split(";")
    if len(times) != 2 or not all(_plain_time(t) for t in times):
        raise AccessDeniedError(f"malformed {name}")
    start, end = (int(t) for t in times)
    if end < start:
        raise AccessDeniedError(f"malformed {name} (it ends before it starts)")
    if end - start > COS_MAX_WINDOW:
        raise AccessDeniedError(f"{name} spans more than {COS_MAX_WINDOW // 3600} hours")
    if now < start - COS_CLOCK_SKEW:
        raise AccessDeniedError(f"signature not yet valid ({name} starts in the future)")
    if now > end:
        raise AccessDeniedError(f"signature expired ({name} has ended)")
    return end


def _plain_time(text: str) -> bool:
    """Unix seconds as plain ASCII digits, short enough to parse (int() of thousands of digits raises)."""
    return text.isascii() and text.isdigit() and len(text) <= MAX_TIME_DIGITS


def _cos_names(listed: str) -> list[str]:
    return [name.lower() for name in listed.split(";") if name]


def _cos_quote(text: str) -> str:
    return quote(text, safe="-_.~")


# --- TC3-HMAC-SHA256 ----------------------------------------------------------------------------


def verify_tc3(request: SignedRequest, keys: Mapping[str, str], *, now: float | None = None) -> str:
    """Check a TC3-HMAC-SHA256-signed request; return its access key id or raise AccessDeniedError."""
    now = time.time() if now is None else now
    headers = _lower_keys(request.headers)
    parts = _tc3_fields(headers.get("authorization", ""))
    credential, signed, signature = (parts.get(k, "") for k in ("Credential", "SignedHeaders", "Signature"))
    scope = credential.split("/")
    if len(scope) != 4 or scope[3] != "tc3_request" or not signed or not signature:
        raise AccessDeniedError("malformed Authorization")
    key_id, date, service, _ = scope
    if service not in TC3_SERVICES:
        raise AccessDeniedError(f"credential is for service {service!r}, not mps")
    secret = keys.get(key_id)
    if not secret:
        raise AccessDeniedError("unknown access key id")

    timestamp = headers.get("x-tc-timestamp", "").strip()
    if not _plain_time(timestamp):
        raise AccessDeniedError("missing or malformed X-TC-Timestamp")
    if abs(now - int(timestamp)) > TC3_MAX_SKEW:
        raise AccessDeniedError(f"signature expired (X-TC-Timestamp more than {TC3_MAX_SKEW} s from now)")
    if date != datetime.fromtimestamp(int(timestamp), timezone.utc).strftime("%Y-%m-%d"):
        raise AccessDeniedError("credential date does not match X-TC-Timestamp")
    if headers.get("x-tc-content-sha256", "").strip().upper() == "UNSIGNED-PAYLOAD":
        raise AccessDeniedError("unsigned payloads are not accepted")

    names = [name.strip() for name in signed.lower().split(";")]
    if not {"content-type", "host"} <= set(names):
        raise AccessDeniedError("SignedHeaders must include content-type and host")
    if missing := [name for name in names if name not in headers]:
        raise AccessDeniedError(f"signed header(s) missing from the request: {', '.join(missing)}")

    canonical = "\n".join([
        request.method.upper(),
        request.path or "/",
        urlencode(list(request.query.items())),
        "".join(f"{name}:{headers[name].strip().lower()}\n" for name in names),
        ";".join(names),
        hashlib.sha256(request.body).hexdigest(),
    ])
    to_sign = "\n".join([
        "TC3-HMAC-SHA256",
        timestamp,
        f"{date}/{service}/tc3_request",
        hashlib.sha256(canonical.encode()).hexdigest(),
    ])
    key = ("TC3" + secret).encode()
    for step in (date, service, "tc3_request"):
        key = _hmac(key, step.encode(), "sha256")
    expected = _hmac(key, to_sign.encode(), "sha256").hex()
    if not hmac.compare_digest(expected.encode(), signature.lower().encode()):
        raise AccessDeniedError("signature mismatch")
    return key_id


def _tc3_fields(authorization: str) -> dict[str, str]:
    authorization = authorization.strip()
    if not authorization:
        raise AccessDeniedError("missing Authorization header")
    algorithm, _, rest = authorization.partition(" ")
    if algorithm != "TC3-HMAC-SHA256":
        raise AccessDeniedError("unsupported signature algorithm (only TC3-HMAC-SHA256)")
    return {k.strip(): v.strip() for k, _, v in (p.partition("=") for p in rest.split(","))}


# --- shared -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Signature:
    value: str  # the signature, lowercase hex
    signed_at: int  # when the client signed: X-TC-Timestamp, or q-sign-time's start + the SDK's 60 s back
    expires: int  # the Unix time from which it is refused as expired


def signature_of(request: SignedRequest) -> Signature:
    """A verified request's signature and its times (the later end of the COS windows, or X-TC-Timestamp + 300 s)."""
    headers = _lower_keys(request.headers)
    authorization = headers.get("authorization", "")
    if authorization.strip().startswith("TC3-HMAC-SHA256"):
        timestamp = int(headers["x-tc-timestamp"].strip())
        signature = _tc3_fields(authorization).get("Signature", "")
        return Signature(signature.lower(), timestamp, timestamp + TC3_MAX_SKEW + 1)
    fields = _cos_fields(authorization)
    start = int(fields["q-sign-time"].split(";")[0])
    ends = (int(fields[name].split(";")[1]) for name in ("q-sign-time", "q-key-time"))
    return Signature(fields["q-signature"].lower(), start + COS_CLOCK_SKEW, max(ends) + 1)


def _lower_keys(headers: Mapping[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


def _hmac(key: bytes, message: bytes, digest: str) -> bytes:
    return hmac.new(key, message, digest).digest()


# --- access keys --------------------------------------------------------------------------------

_cached: tuple[str, float, dict[str, ApiKey]] | None = None  # (secret ARN, expires at, keys)


def api_keys() -> dict[str, ApiKey]:
    """The API's keys with their policies, from Secrets Manager (cached 300 s), else the environment
    (one key that may do everything), else none. The secret's format is in `faces/keys.py`."""
    global _cached
    arn = os.environ.get("ACCESS_KEYS_SECRET_ARN")
    if arn:
        if _cached is None or _cached[0] != arn or time.monotonic() >= _cached[1]:
            secret = aws.client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"]
            found = parse_keys(secret)
            if not found:  # never include the secret's text: it holds the keys
                raise MediaflowError("the access key secret is not {SecretId, SecretKey} JSON or a list of them")
            _cached = (arn, time.monotonic() + KEYS_TTL, found)
        return dict(_cached[2])
    key_id, secret_key = os.environ.get("MEDIAFLOW_ACCESS_KEY_ID"), os.environ.get("MEDIAFLOW_SECRET_ACCESS_KEY")
    if key_id and secret_key:
        return {key_id: ApiKey(SecretId=key_id, SecretKey=secret_key)}
    return {}


def access_keys() -> dict[str, str]:
    """Access key id -> secret key, what the signatures are checked against."""
    return {key_id: key.SecretKey for key_id, key in api_keys().items()}


def reset() -> None:
    """Forget the cached keys (tests, or to pick up a rotated secret at once)."""
    global _cached
    _cached = None
