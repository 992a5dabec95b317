"""The API function: one Powertools resolver for the COS CI XML face and the MPS JSON face.

Before routing, `handler` gives the request an id, decides its face and its bucket, checks its
signature and records it as used (`replay`: a signature is good for one request, and an identical
repeat of a write gets the first one's answer instead of acting again); the routers then read
`router.context`:

* ``request_id`` - the id returned in ``x-ci-request-id`` (and in every error body);
* ``face`` - ``"mps"`` for ``POST /`` with an ``X-TC-Action`` header (TencentCloud API 3.0 JSON),
  ``"cos"`` for everything else (COS CI XML);
* ``bucket`` - COS face: ``/buckets/<bucket>/...`` (path style; the prefix is stripped before
  routing), else the first label of a ``<bucket>.<domain with a dot>`` Host (the SDK's
  ``<bucket>-<appid>.ci.<region>.myqcloud.com``, or ``<bucket>.localhost``; the signature must then
  cover the Host), else the stack's input bucket. MPS face: the stack's input bucket (the request
  body names its own buckets);
* ``query`` - the query string parsed once (`routing.parse_query`: a repeated name is a 400): the
  signature is checked against it and the routes read it (`Route.query`), never API Gateway's
  ``queryStringParameters``, which joins repeated values with commas;
* ``access_key`` - the access key id the request was signed with.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import re
import uuid
from functools import cache
from pathlib import Path
from typing import Any

from aws_lambda_powertools.event_handler import (
    APIGatewayHttpResolver,
    Response,
    content_types,
)
from aws_lambda_powertools.event_handler.exceptions import ServiceError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestValidationError,
)
from pydantic import ValidationError

from .. import __version__
from ..config import setting
from ..exceptions import (
    AccessDeniedError,
    InvalidInputError,
    MediaflowError,
    NotFoundError,
)
from ..observability import logger
from . import auth, contract, replay, xmlio
from .cos import buckets as cos_buckets
from .cos import jobs as cos_jobs
from .cos import queues as cos_queues
from .cos import templates as cos_templates
from .cos import workflows as cos_workflows
from .keys import UNAUTHORISED, ApiKey, action_of, require
from .mps import routes as mps_routes
from .routing import BUCKET_PATTERN, parse_query

COS, MPS = "cos", "mps"
OPENAPI_PATH, DOCS_PATH = "/openapi.json", "/docs"
SWAGGER_UI = Path(__file__).parent / "swagger_ui"
PATH_STYLE = re.compile(r"^/buckets/(?P<bucket>[^/]+)(?P<rest>/.*)?$")
BUCKET_NAME = re.compile(BUCKET_PATTERN)
# Hosts that name the service, not a bucket: API Gateway's and Lambda function URLs' own names.
SERVICE_HOST = re.compile(r"\.execute-api\.[^.]+\.amazonaws\.com$|\.lambda-url\.[^.]+\.on\.aws$")
# The MPS face's Error.Code for each of our codes (TencentCloud API 3.0 common errors).
TC_CODES = {
    "AccessDenied": "AuthFailure.SignatureFailure",
    "InvalidArgument": "InvalidParameterValue",
    "InvalidContent": "InvalidParameter",
    "MissingContent": "MissingParameter",
    "ResourceNotFound": "ResourceNotFound",
    "NoSuchRoute": "InvalidAction",
    "InternalError": "InternalError",
}
# Powertools' own HTTP errors (raised by a route or by Powertools) -> our codes.
SERVICE_CODES = {400: "InvalidArgument", 403: "AccessDenied", 404: "ResourceNotFound", 405: "MethodNotAllowed"}

app = APIGatewayHttpResolver(enable_validation=True)
for _module in (cos_buckets, cos_jobs, cos_queues, cos_templates, cos_workflows, mps_routes):
    app.include_router(_module.router)


# --------------------------------------------------------------------------- before routing
def face_of(event: dict[str, Any]) -> str:
    http = event["requestContext"]["http"]
    return MPS if http["method"] == "POST" and event["rawPath"] == "/" and "x-tc-action" in _headers(event) else COS


def bucket_from_host(host: str) -> str | None:
    """`<bucket>.<domain>` -> bucket; None for IP addresses, bare names and the service's own hosts."""
    name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host  # drop the port (not from IPv6)
    name = name.strip("[]").rstrip(".").lower()
    try:
        ipaddress.ip_address(name)
        return None
    except ValueError:
        pass
    label, _, domain = name.partition(".")
    if not domain or SERVICE_HOST.search(name) or ("." not in domain and domain != "localhost"):
        return None
    return label if BUCKET_NAME.match(label) else None


def bucket_in_host(event: dict[str, Any]) -> bool:
    """Whether the Host header names the request's bucket (not path style, and a bucket-like Host)."""
    host = _headers(event).get("host") or event["requestContext"].get("domainName", "")
    return not PATH_STYLE.match(event["rawPath"]) and bucket_from_host(host) is not None


def route_bucket(event: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The bucket a COS request addresses, and the event as the routers see it (no /buckets/<b>)."""
    match = PATH_STYLE.match(event["rawPath"])
    if match:
        bucket = match["bucket"]
        if not BUCKET_NAME.match(bucket):
            raise InvalidInputError(f"{bucket!r} is not a bucket name")
        rest = match["rest"] or "/"
        http = {**event["requestContext"]["http"], "path": rest}
        return {**event, "rawPath": rest, "requestContext": {**event["requestContext"], "http": http}}, bucket
    host = _headers(event).get("host") or event["requestContext"].get("domainName", "")
    return event, bucket_from_host(host) or setting("INPUT_BUCKET")


def signed_request(event: dict[str, Any], query: dict[str, str] | None = None) -> auth.SignedRequest:
    """What the client signed: the path as sent (before /buckets/<b> is stripped), query (`parse_query`,
    the very dict the routes then read), headers, body."""
    body = event.get("body") or ""
    return auth.SignedRequest(
        method=event["requestContext"]["http"]["method"],
        path=event["rawPath"],
        query=parse_query(event.get("rawQueryString") or "") if query is None else query,
        headers=_headers(event),
        body=base64.b64decode(body) if event.get("isBase64Encoded") else body.encode(),
    )


def _headers(event: dict[str, Any]) -> dict[str, str]:
    return {name.lower(): value for name, value in (event.get("headers") or {}).items()}


# --------------------------------------------------------------------------- errors
def cos_error(err: MediaflowError, request_id: str) -> Response:
    response = xmlio.error(err, request_id)
    # The class decides the status where the code is a more specific one (e.g. NoSuchRoute).
    for cls, status in ((AccessDeniedError, 403), (NotFoundError, 404), (InvalidInputError, 400)):
        if isinstance(err, cls):
            response.status_code = status
            break
    return response


def mps_error(err: MediaflowError, request_id: str, status: int) -> Response:
    """TencentCloud API 3.0's error shape; request errors are HTTP 200 there, as they are here."""
    code = err.code if err.code.startswith("AuthFailure") else TC_CODES.get(err.code, err.code)
    body = {"Response": {"Error": {"Code": code, "Message": err.message}, "RequestId": request_id}}
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=json.dumps(body),
                    headers={"x-ci-request-id": request_id, "X-TC-RequestId": request_id})


def error_response(err: MediaflowError, *, status: int | None = None) -> Response:
    request_id, face = app.context.get("request_id", ""), app.context.get("face", COS)
    if face == MPS:
        default = 403 if isinstance(err, AccessDeniedError) else 500 if err.code == "InternalError" else 200
        return mps_error(err, request_id, status or default)
    response = cos_error(err, request_id)
    if status:
        response.status_code = status
    return response


def describe_validation(errors: list[dict[str, Any]]) -> str:
    """'Field.Path: what is wrong' for each error (never the offending input)."""
    return "; ".join(f"{'.'.join(str(part) for part in e.get('loc', ())) or 'request'}: {e.get('msg', e.get('type'))}"
                     for e in errors)


@app.exception_handler(MediaflowError)
def _mediaflow_error(err: MediaflowError) -> Response:
    return error_response(err)


@app.exception_handler([ValidationError, RequestValidationError])
def _invalid(err: ValidationError | RequestValidationError) -> Response:
    return error_response(InvalidInputError(describe_validation(list(err.errors()))))


@app.exception_handler(ServiceError)
def _service_error(err: ServiceError) -> Response:
    error = MediaflowError(err.msg, code=SERVICE_CODES.get(err.status_code, "InternalError"))
    return error_response(error, status=err.status_code)


@app.not_found
def _no_route(_: Exception) -> Response:
    http = app.current_event.request_context.http
    return error_response(NotFoundError(f"no route for {http.method} {app.current_event.raw_path}", code="NoSuchRoute"),
                          status=404 if app.context.get("face") != MPS else None)


@app.exception_handler(Exception)
def _internal(err: Exception) -> Response:
    logger.exception("unhandled error", extra={"request_id": app.context.get("request_id")})
    return error_response(MediaflowError(f"internal error; request id {app.context.get('request_id')}"))


# --------------------------------------------------------------------------- documentation
@cache
def openapi_document() -> str:
    return json.dumps(contract.document(__version__))


@app.get(OPENAPI_PATH, include_in_schema=False)
def _openapi() -> Response[str]:
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=openapi_document())


DOCS_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>mediaflow API</title>
<link rel="stylesheet" href="docs/swagger-ui.css"></head>
<body><div id="swagger-ui"></div><script src="docs/swagger-ui-bundle.js"></script>
<script>window.ui = SwaggerUIBundle({url: "openapi.json", dom_id: "#swagger-ui"});</script></body></html>
"""
DOCS_ASSETS = {"swagger-ui-bundle.js": "text/javascript", "swagger-ui.css": "text/css"}


@app.get(DOCS_PATH, include_in_schema=False)
def _docs() -> Response[str]:
    return Response(status_code=200, content_type="text/html; charset=utf-8", body=DOCS_PAGE)


@app.get(DOCS_PATH + "/<asset>", include_in_schema=False)
def _docs_asset(asset: str) -> Response[str]:
    """Swagger UI's bundle, fetched from the npm registry when the layer is built (layers/common/Makefile)."""
    if asset not in DOCS_ASSETS:
        raise NotFoundError(f"no asset {asset[:64]!r} under {DOCS_PATH}", code="NoSuchRoute")
    try:
        body = (SWAGGER_UI / asset).read_text(encoding="utf-8")
    except FileNotFoundError as error:
        raise NotFoundError(f"{asset} is not in this build: `make -C layers/common swagger-ui` fetches it",
                            code="NoSuchRoute") from error
    return Response(status_code=200, content_type=DOCS_ASSETS[asset], body=body,
                    headers={"Cache-Control": "public, max-age=86400"})


def unsigned(event: dict[str, Any]) -> bool:
    """The contract and its page are public: they are read without a key."""
    path = event["rawPath"]
    return event["requestContext"]["http"]["method"] == "GET" and (
        path in (OPENAPI_PATH, DOCS_PATH) or path.startswith(DOCS_PATH + "/"))


# --------------------------------------------------------------------------- entry point
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Identify, place and authenticate the request, then route it."""
    request_id = str(uuid.uuid4())
    face = face_of(event)
    app.clear_context()
    app.append_context(request_id=request_id, face=face)
    logger.append_keys(ci_request_id=request_id, face=face)
    use: replay.Use | None = None
    try:
        routed, bucket = route_bucket(event) if face == COS else (event, setting("INPUT_BUCKET"))
        query = parse_query(event.get("rawQueryString") or "")  # one parse: verified here, read by the routes
        app.append_context(bucket=bucket, query=query)
        if not unsigned(event):
            request, keys = signed_request(event, query), auth.access_keys()
            if face == COS:
                key_id = auth.verify_cos(request, keys, host_names_bucket=bucket_in_host(event))
            else:
                key_id = auth.verify_tc3(request, keys)
            app.append_context(access_key=key_id, key=authorise(event, routed, face, bucket, auth.api_keys()[key_id]))
            use = replay.first_use(request, mps=face == MPS)  # a signature serves one request; a write acts once
    except MediaflowError as err:
        return _http_api_result(error_response(err), request_id)
    except Exception:
        logger.exception("request could not be placed or authenticated")
        return _http_api_result(error_response(MediaflowError(f"internal error; request id {request_id}")), request_id)
    if use is not None and use.answer is not None:
        logger.info("an identical signed write again: answered with the first one's answer")
        return use.answer
    result = app.resolve(routed, context)
    headers = result.setdefault("headers", {})
    if not any(name.lower() == "x-ci-request-id" for name in headers):
        headers["x-ci-request-id"] = request_id
    if use is not None:
        use.keep(result)
    return result


def authorise(event: dict[str, Any], routed: dict[str, Any], face: str, bucket: str, key: ApiKey) -> ApiKey:
    """Refuse what the key's policy does not allow: on the COS face the operation on its bucket; on the
    MPS face the kind of action (the buckets a task names are checked by its routes)."""
    method = event["requestContext"]["http"]["method"]
    if face == COS:
        # Listing the served buckets names no bucket: it shows those the key opens (faces/cos/buckets.py).
        lists_buckets = method == "GET" and routed["rawPath"].rstrip("/") in ("/mediabucket", "/asrbucket", "/docbucket")
        require(key, action_of(method, routed["rawPath"]), None if lists_buckets else bucket)
    else:
        require(key, action_of(method, "/", _headers(event).get("x-tc-action", "")), None, code=UNAUTHORISED)
    return key


def _http_api_result(response: Response, request_id: str) -> dict[str, Any]:
    """A Response refused before routing, as an HTTP API (payload v2.0) result."""
    headers = {name: ",".join(value) if isinstance(value, list) else value for name, value in response.headers.items()}
    headers.setdefault("x-ci-request-id", request_id)
    return {"statusCode": response.status_code, "headers": headers, "body": response.body, "isBase64Encoded": False}
