"""The one DynamoDB table: records as JSON documents with a few key and state attributes.

Keys (pk / sk, and the gsi1 index for "X of Y" lookups):

| record    | pk                | sk        | gsi1pk                      | gsi1sk                  |
|-----------|-------------------|-----------|-----------------------------|-------------------------|
| queue     | QUEUE#<id>        | QUEUE     | BUCKET#<bucket>#QUEUE       | <feature>               |
| workflow  | WORKFLOW#<id>     | WORKFLOW  | BUCKET#<bucket>#WORKFLOW    | <id>                    |
| job       | JOB#<id>          | JOB       |                             |                         |
| execution | EXEC#<id>         | EXEC      | QUEUE#<id>#WAITING (waiting)| <priority rank>#<seq>   |
| bucket    | BUCKET#<bucket>   | CONFIG    |                             |                         |
| activation| BUCKET#<bucket>   | ACTIVATION| MEDIABUCKETS                | <bucket>                |
| template  | TEMPLATE#<id>     | TEMPLATE  | BUCKET#<bucket>#TEMPLATE    | <id>                    |
| session   | SESSION#<id>      | SESSION   |                             |                         |
| signature | SIGNATURE#<hex>   | <request fingerprint> |                 |                         |

A signature record (`faces.replay`: one per request served under a signature) holds plain attributes,
no document, and goes with DynamoDB's TTL (`expires`, Unix seconds) once the signature has expired.

A second index, gsi2, lists records in creation order: jobs by bucket (gsi2pk BUCKET#<bucket>#JOBS),
workflow runs by workflow (WORKFLOW#<id>#RUNS), MPS tasks (TASKS: ProcessMedia's and the runs of
MPS workflows) and MPS workflows (MPS#WORKFLOWS, by id); gsi2sk is otherwise the creation time (UTC,
sortable) and the id.

Documents carry a `version` that every write checks, so concurrent writers never lose updates.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError
from pydantic import BaseModel

from .. import aws, config
from ..exceptions import InvalidInputError, NotFoundError, TransientError

M = TypeVar("M", bound=BaseModel)
INDEX = "gsi1"
# A document's bound, its keys and attributes left room: a table item holds at most 400 KB.
MAX_DOC_BYTES = 350_000


class ConflictError(Exception):
    """A conditional write lost a race; the caller decides whether to retry."""


def table() -> Any:
    return aws.resource("dynamodb").Table(config.table_name())


def is_condition_failure(error: ClientError) -> bool:
    return error.response["Error"]["Code"] == "ConditionalCheckFailedException"


def check_size(doc: BaseModel, what: str) -> str:
    """The document as stored; InvalidInputError if it is larger than an item may hold. Callers that
    write several records check each first, so that a request too large writes none of them."""
    text = doc.model_dump_json()
    size = len(text.encode())
    if size > MAX_DOC_BYTES:
        raise InvalidInputError(f"{what} would take {size} bytes to store; at most {MAX_DOC_BYTES} fit in a record")
    return text


def _item(pk: str, sk: str, doc: BaseModel, version: int, **attributes: Any) -> dict[str, Any]:
    item = {"pk": pk, "sk": sk, "doc": check_size(doc, f"the {type(doc).__name__.lower()}"), "version": version}
    item.update({k: v for k, v in attributes.items() if v is not None})
    return item


def put_new(pk: str, sk: str, doc: BaseModel, **attributes: Any) -> bool:
    """Create a record unless it exists. Returns False when it already did (idempotent creates)."""
    try:
        table().put_item(Item=_item(pk, sk, doc, 1, **attributes), ConditionExpression="attribute_not_exists(pk)")
        return True
    except ClientError as error:
        if is_condition_failure(error):
            return False
        raise


def put(pk: str, sk: str, doc: BaseModel, **attributes: Any) -> None:
    """Write a record whoever wrote it before (a record that only its latest writer's view matters for)."""
    table().put_item(Item=_item(pk, sk, doc, 1, **attributes))


def get(pk: str, sk: str, model: type[M]) -> tuple[M, int] | None:
    item = table().get_item(Key={"pk": pk, "sk": sk}, ConsistentRead=True).get("Item")
    if item is None:
        return None
    return model.model_validate_json(item["doc"]), int(item["version"])


def must_get(pk: str, sk: str, model: type[M]) -> tuple[M, int]:
    found = get(pk, sk, model)
    if found is None:
        raise NotFoundError(f"{pk} does not exist")
    return found


def replace(pk: str, sk: str, doc: BaseModel, version: int, *, remove: tuple[str, ...] = (), **attributes: Any) -> int:
    """Write a new version of a record if nobody else did since `version` was read."""
    names = {"#doc": "doc", "#v": "version"}
    values: dict[str, Any] = {":doc": doc.model_dump_json(), ":old": version, ":new": version + 1}
    sets = ["#doc = :doc", "#v = :new"]
    for i, (name, value) in enumerate(attributes.items()):
        names[f"#a{i}"], values[f":a{i}"] = name, value
        sets.append(f"#a{i} = :a{i}")
    expression = "SET " + ", ".join(sets)
    if remove:
        for i, name in enumerate(remove):
            names[f"#r{i}"] = name
        expression += " REMOVE " + ", ".join(f"#r{i}" for i in range(len(remove)))
    try:
        table().update_item(
            Key={"pk": pk, "sk": sk},
            UpdateExpression=expression,
            ConditionExpression="#v = :old",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )
    except ClientError as error:
        if is_condition_failure(error):
            raise ConflictError(pk) from error
        raise
    return version + 1


def mutate(pk: str, sk: str, model: type[M], change: Callable[[M], Any], *, attempts: int = 20, **attributes: Any) -> M:
    """Read, change and write back a record, retrying on concurrent writes."""
    for _ in range(attempts):
        doc, version = must_get(pk, sk, model)
        change(doc)
        try:
            replace(pk, sk, doc, version, **attributes)
            return doc
        except ConflictError:
            continue
    raise TransientError(f"{pk} is being changed by too many writers at once")


def query_index(pk: str, model: type[M], *, limit: int | None = None, index: str = INDEX) -> list[M]:
    """Every record of an index partition (gsi1 unless named), in its sort-key order."""
    kwargs: dict[str, Any] = {"IndexName": index, "KeyConditionExpression": Key(f"{index}pk").eq(pk)}
    if limit:
        kwargs["Limit"] = limit
    docs: list[M] = []
    while True:
        page = table().query(**kwargs)
        docs.extend(model.model_validate_json(item["doc"]) for item in page["Items"])
        if "LastEvaluatedKey" not in page or (limit and len(docs) >= limit):
            return docs
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def count(index: str, pk: str, *, between: tuple[str, str] | None = None) -> int:
    """How many records an index partition holds (in a sort-key range), without reading them."""
    key = Key(f"{index}pk").eq(pk)
    if between:
        key = key & Key(f"{index}sk").between(*between)
    kwargs: dict[str, Any] = {"IndexName": index, "KeyConditionExpression": key, "Select": "COUNT"}
    total = 0
    while True:
        page = table().query(**kwargs)
        total += page["Count"]
        if "LastEvaluatedKey" not in page:
            return total
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


@dataclass
class Page(Generic[M]):
    items: list[M]
    next_token: str  # "" when there is nothing more


def query_page(index: str, pk: str, model: type[M], *, size: int, ascending: bool = True, after: str | None = None,
               between: tuple[str, str] | None = None, keep: Callable[[M], bool] = lambda _: True) -> Page[M]:
    """One page of an index partition in sort-key order, filtered by `keep`; the token resumes after
    the last record returned. Filtering happens here, so a page is full unless the partition ends."""
    key = Key(f"{index}pk").eq(pk)
    if between:
        key = key & Key(f"{index}sk").between(*between)
    kwargs: dict[str, Any] = {"IndexName": index, "KeyConditionExpression": key, "ScanIndexForward": ascending,
                              "Limit": max(size, 25)}
    if after:
        kwargs["ExclusiveStartKey"] = _resume_key(index, pk, after)
    found: list[tuple[M, str]] = []
    while True:
        page = table().query(**kwargs)
        for item in page["Items"]:
            doc = model.model_validate_json(item["doc"])
            if keep(doc):
                found.append((doc, _token(item[f"{index}sk"], item["pk"], item["sk"])))
            if len(found) > size:
                return Page([d for d, _ in found[:size]], found[size - 1][1])
        if "LastEvaluatedKey" not in page:
            return Page([d for d, _ in found], "")
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _token(*parts: str) -> str:
    return base64.urlsafe_b64encode("\x1f".join(parts).encode()).decode()


def _resume_key(index: str, pk: str, token: str) -> dict[str, str]:
    try:
        index_sk, item_pk, item_sk = base64.urlsafe_b64decode(token.encode()).decode().split("\x1f")
    except ValueError as error:
        raise InvalidInputError("nextToken is not a token this service returned") from error
    return {"pk": item_pk, "sk": item_sk, f"{index}pk": pk, f"{index}sk": index_sk}


def claim(pk: str, sk: str, **attributes: Any) -> dict[str, Any] | None:
    """Write a record of plain attributes (no document) unless one exists. None when written, else the
    record that stood in the way ({} if it has gone since)."""
    try:
        table().put_item(Item={"pk": pk, "sk": sk, **attributes}, ConditionExpression="attribute_not_exists(pk)")
        return None
    except ClientError as error:
        if not is_condition_failure(error):
            raise
    return table().get_item(Key={"pk": pk, "sk": sk}, ConsistentRead=True).get("Item") or {}


def set_attributes(pk: str, sk: str, **attributes: Any) -> bool:
    """Set plain attributes on an existing record; False if there is none."""
    names = {f"#s{i}": name for i, name in enumerate(attributes)}
    values = {f":s{i}": value for i, value in enumerate(attributes.values())}
    try:
        table().update_item(Key={"pk": pk, "sk": sk}, ConditionExpression="attribute_exists(pk)",
                            UpdateExpression="SET " + ", ".join(f"#s{i} = :s{i}" for i in range(len(attributes))),
                            ExpressionAttributeNames=names, ExpressionAttributeValues=values)
        return True
    except ClientError as error:
        if is_condition_failure(error):
            return False
        raise


def partition(pk: str, *names: str) -> list[dict[str, Any]]:
    """The records under one pk (sk and the attributes named), read consistently."""
    projection = ["pk", "sk", *names]
    kwargs: dict[str, Any] = {"KeyConditionExpression": Key("pk").eq(pk), "ConsistentRead": True,
                              "ProjectionExpression": ", ".join(f"#p{i}" for i in range(len(projection))),
                              "ExpressionAttributeNames": {f"#p{i}": name for i, name in enumerate(projection)}}
    items: list[dict[str, Any]] = []
    while True:
        page = table().query(**kwargs)
        items.extend(page["Items"])
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def delete(pk: str, sk: str) -> None:
    table().delete_item(Key={"pk": pk, "sk": sk})


def add_counter(pk: str, sk: str, name: str, amount: int) -> int:
    """Atomically add to a numeric attribute and return its new value."""
    result = table().update_item(
        Key={"pk": pk, "sk": sk},
        UpdateExpression="ADD #n :d",
        ExpressionAttributeNames={"#n": name},
        ExpressionAttributeValues={":d": amount},
        ReturnValues="UPDATED_NEW",
    )
    return int(result["Attributes"][name])


def get_attribute(pk: str, sk: str, name: str) -> Any:
    item = table().get_item(Key={"pk": pk, "sk": sk}, ConsistentRead=True, ProjectionExpression="#n",
                            ExpressionAttributeNames={"#n": name}).get("Item") or {}
    return item.get(name)


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))
