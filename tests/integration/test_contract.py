"""The served API keeps its published contract: schemathesis generates requests for every operation of
/openapi.json (both faces), signs them as the SDKs sign theirs, sends them through the local HTTP front
to the API function, and checks each answer: never a 5xx, a documented status and content type, a body
that matches the documented schema (XML read by the same schema), and nothing written on a 4xx. The
workflow operations are also followed along the document's links: create -> get -> update -> delete.

`make test` draws a few examples per operation (CONTRACT_EXAMPLES); `make test-slow` many more."""

from __future__ import annotations

import json
import functools
import os
from typing import Any

import pytest
import requests
import schemathesis
import xmltodict
from hypothesis import HealthCheck, given, settings
from mediaflow.faces.app import openapi_document
from mediaflow.faces.mps import routes as mps_routes
from mediaflow.local.front import ApiFront
from mediaflow.notify import inbox
from mediaflow.persistence import store
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from support import SdkSigner, serve_bucket

pytestmark = pytest.mark.integration
BUCKET = "contract-media"
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
DOCUMENT = json.loads(openapi_document())
COMPONENTS = DOCUMENT["components"]["schemas"]


# --------------------------------------------------------------------------- XML answers, read by their schema
def resolved(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = COMPONENTS[schema["$ref"].rsplit("/", 1)[1]]
    return schema


def typed(value: Any, schema: dict[str, Any]) -> Any:
    """An xmltodict value as the schema reads it: a lone element where an array is declared is a list of
    one, an empty element an empty object/array/string, numbers parsed; anything else stays as it is,
    for the schema to judge."""
    schema = resolved(schema)
    kinds = schema.get("type")
    kinds = set(kinds) if isinstance(kinds, list) else {kinds} if kinds else set()
    if value is None:
        return None if "null" in kinds or not kinds else {} if "object" in kinds else [] if "array" in kinds else ""
    if "array" in kinds:
        return [typed(item, schema.get("items", {})) for item in (value if isinstance(value, list) else [value])]
    if "object" in kinds and isinstance(value, dict):
        properties = schema.get("properties", {})
        return {name: typed(item, properties.get(name, {})) for name, item in value.items()}
    if kinds & {"integer", "number"} and isinstance(value, str):
        try:
            number = float(value)
            return int(number) if "integer" in kinds and number.is_integer() else number
        except ValueError:
            return value
    return value


@schemathesis.deserializer("application/xml")
def xml_answer(ctx: Any, response: Any) -> Any:
    declared = ctx.operation.definition.raw["responses"].get(str(response.status_code), {})
    schema = declared.get("content", {}).get("application/xml", {}).get("schema", {})
    document = xmltodict.parse(response.content)
    (root, content), = document.items()
    expected = resolved(schema).get("xml", {}).get("name")
    assert root == expected, f"the answer's root is <{root}>, the contract says <{expected}>"
    return typed(content, schema)


# --------------------------------------------------------------------------- the served API
@pytest.fixture
def api(serve, stack, monkeypatch):
    serve_bucket(BUCKET)
    # PullEvents long-polls an empty inbox for 5 s; the wait is not what is checked here.
    monkeypatch.setattr(mps_routes.inbox, "pull", functools.partial(inbox.pull, wait=0))
    front = ApiFront(serve, port=0).start()
    yield front.url
    front.stop()


def base_url(api: str, path: str) -> str:
    """COS operations address the bucket path style; an MPS action is POST / (its #Action is not sent)."""
    return api if path.startswith("/#") else f"{api}/buckets/{BUCKET}"


def written() -> list[tuple[str, str]]:
    """What the table holds, less the records of signatures seen (every signed request leaves one)."""
    return sorted((item["pk"], item["sk"]) for item in store.table().scan()["Items"]
                  if not item["pk"].startswith("SIGNATURE#"))


def test_every_operation_keeps_the_contract(api) -> None:
    keeps_the_contract(api, examples=int(os.environ.get("CONTRACT_EXAMPLES", "3")))


@pytest.mark.slow
def test_every_operation_keeps_the_contract_at_length(api) -> None:
    keeps_the_contract(api, examples=int(os.environ.get("CONTRACT_EXAMPLES", "150")))


def keeps_the_contract(api: str, examples: int) -> None:
    """Positive and negative examples of every operation, each answer checked (module docstring)."""
    schema = schemathesis.openapi.from_dict(DOCUMENT)
    session = requests.Session()
    session.auth = SdkSigner()
    seen: dict[str, set[int]] = {}
    sent: list[int] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == sum(len(methods) for methods in DOCUMENT["paths"].values()) >= 41

    for operation in operations:
        @settings(max_examples=examples, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy(generation_mode=GenerationMode.POSITIVE)
               | operation.as_strategy(generation_mode=GenerationMode.NEGATIVE))
        def fuzz(case: Any) -> None:
            before = written()
            response = case.call(base_url=base_url(api, operation.path), session=session, timeout=60)
            case.validate_response(response, checks=CHECKS)
            if 400 <= response.status_code < 500:
                assert written() == before, f"{operation.label}: a {response.status_code} answer wrote to the table"
            seen.setdefault(operation.label, set()).add(response.status_code)
            sent.append(response.status_code)

        fuzz()
    assert len(seen) == len(operations)
    print(f"\ncontract: {len(operations)} operations, {len(sent)} requests ({examples} examples each at most), "
          f"{sum(code >= 500 for code in sent)} answered 5xx; statuses seen: "
          + json.dumps({label: sorted(codes) for label, codes in sorted(seen.items())}))


# --------------------------------------------------------------------------- along the links
MP4_SD = "t04e1ab86554984f1aa17c062fbf6c007c"
CREATED_BY = {  # a valid request of each creating operation that the document links from
    "CreateMediaWorkflow": {"MediaWorkflow": {"Name": "linked", "Topology": {
        "Dependencies": {"Start": "Transcode_1", "Transcode_1": "End"},
        "Nodes": {"Start": {"Type": "Start", "Input": {"ObjectPrefix": "in/"}},
                  "Transcode_1": {"Type": "Transcode", "Operation": {"TemplateId": MP4_SD,
                                                                      "Output": {"Object": "o.${ext}"}}}}}}},
    "CreateMediaTemplate": {"Tag": "Transcode", "Name": "linked", "Container": {"Format": "mp4"},
                            "Video": {"Codec": "H.264", "Width": "320"}},
    "CreateMediaJobs": {"Tag": "Transcode", "Input": {"Object": "in/clip.mp4"},
                        "Operation": [{"TemplateId": MP4_SD, "Output": {"Object": "out/${Jobid}.${ext}"}}]},
}


def pointer(document: Any, expression: str) -> Any:
    """A `$response.body#/A/0/B` link expression read from an answer (as the XML deserializer types it)."""
    for part in expression.split("#/", 1)[1].split("/"):
        document = document[int(part)] if isinstance(document, list) else document[part]
    return document


def test_created_resources_follow_the_documented_links(api, sample_video) -> None:
    """Each creating operation's documented links, followed in order with the id its answer holds (an
    update sending the creating body again), ending with the delete or cancel: every answer a 200 that
    keeps the contract. The bodies are serialised by schemathesis from the contract's XML objects."""
    import boto3

    boto3.client("s3").upload_file(str(sample_video), BUCKET, "in/clip.mp4")
    schema = schemathesis.openapi.from_dict(DOCUMENT)
    session = requests.Session()
    session.auth = SdkSigner()
    operations = {op.definition.raw["operationId"]: op for op in (r.ok() for r in schema.get_all_operations())}
    followed = []
    for creator, body in CREATED_BY.items():
        create = operations[creator]
        case = create.Case(body=body, media_type="application/xml")
        response = case.call(base_url=base_url(api, create.path), session=session)
        case.validate_response(response, checks=CHECKS)
        assert response.status_code == 200, response.text
        answer = xml_answer(type("Ctx", (), {"operation": create}), response)
        for name, link in create.definition.raw["responses"]["200"]["links"].items():
            target = operations[link["operationId"]]
            (parameter, expression), = link["parameters"].items()
            where = "path_parameters" if "{" + parameter + "}" in target.path else "query"
            values = {where: {parameter: pointer(answer, expression)}}
            if link.get("requestBody") == "$request.body":
                values |= {"body": body, "media_type": "application/xml"}
            if target.method.upper() == "PUT" and target.path.startswith(("/jobs", "/asr_jobs", "/doc_jobs")):
                values["query"] = {"cancel": ""}
            linked = target.Case(**values)
            reply = linked.call(base_url=base_url(api, target.path), session=session)
            linked.validate_response(reply, checks=CHECKS)
            assert reply.status_code == 200, (name, reply.text)
            followed.append(name)
    assert followed == ["DescribeMediaWorkflow", "UpdateMediaWorkflow", "DeleteMediaWorkflow",
                        "DescribeMediaTemplates", "UpdateMediaTemplate", "DeleteMediaTemplate",
                        "DescribeMediaJob", "CancelMediaJob"]
