"""The published contract describes exactly what the API serves: every route of the resolver, every MPS
action, each with its security scheme, its statuses and, on the COS face, its XML element names."""

from __future__ import annotations

import json

import pytest
from mediaflow.faces import contract
from mediaflow.faces.app import app, openapi_document
from mediaflow.faces.mps.routes import ACTIONS
from openapi_spec_validator import validate

pytestmark = pytest.mark.unit
DOCUMENT = json.loads(openapi_document())


def published() -> set[tuple[str, str]]:
    return {(method, path) for path, methods in DOCUMENT["paths"].items() for method in methods}


def test_the_document_is_valid_openapi_3_1() -> None:
    validate(DOCUMENT)
    assert DOCUMENT["openapi"] == "3.1.0"


def test_every_route_served_is_published_and_nothing_else() -> None:
    served = {(method, path) for path, methods in app.get_openapi_schema().model_dump(by_alias=True)["paths"].items()
              for method, operation in methods.items() if operation}
    cos = {(method, path) for method, path in published() if not path.startswith("/#")}
    assert cos == served - {("post", "/")}
    assert {path[2:] for _, path in published() if path.startswith("/#")} == set(ACTIONS)
    assert len(published()) == len(served) - 1 + len(ACTIONS) >= 41


def test_each_operation_names_its_scheme_statuses_and_xml_elements() -> None:
    for path, methods in DOCUMENT["paths"].items():
        for method, operation in methods.items():
            where = f"{method.upper()} {path}"
            mps = path.startswith("/#")
            assert operation["security"] == [{"tc3": []}] if mps else [{"cosSignature": []}], where
            assert {"200", "403", "413", "500"} <= set(operation["responses"]), where
            assert operation["operationId"] and operation["summary"], where
            if mps:
                assert operation["parameters"][0] == {"name": "X-TC-Action", "in": "header", "required": True,
                                                      "schema": {"type": "string", "enum": [path[2:]]}}
                continue
            assert {"400", "404"} <= set(operation["responses"]), where
            answer = operation["responses"]["200"].get("content", {}).get("application/xml", {}).get("schema")
            assert answer is None or answer["xml"] == {"name": "Response"}, where
            if "requestBody" in operation:
                assert operation["requestBody"]["content"]["application/xml"]["schema"]["xml"] == {"name": "Request"}
    assert DOCUMENT["components"]["schemas"]["Error"]["xml"] == {"name": "Error"}
    assert set(DOCUMENT["components"]["securitySchemes"]) == {"cosSignature", "tc3"}


def test_request_bodies_come_from_the_models_that_parse_them() -> None:
    schemas = DOCUMENT["components"]["schemas"]
    assert schemas["QueueUpdate"]["properties"]["MaxConcurrent"]["anyOf"][0] == {"maximum": 1000, "minimum": 1,
                                                                                  "type": "integer"}
    priority = schemas["ProcessMediaRequest"]["properties"]["TasksPriority"]
    assert (priority["minimum"], priority["maximum"], priority["type"]) == (-10, 10, "integer")
    bodies = sum("requestBody" in op for methods in DOCUMENT["paths"].values() for op in methods.values())
    assert bodies == 3 + 3 + 4 + len(ACTIONS)  # jobs x3, queues x3, template and workflow create/update, MPS
    assert contract.MPS_OPERATIONS.keys() == ACTIONS.keys()
