"""The one DynamoDB table: records as JSON documents with a few key and state attributes.

Keys (pk / sk, and the gsi1 index for "X of Y" lookups):

| record    | pk                | sk        | gsi1pk                      | gsi1sk                  |
|-----------|-------------------|-----------|-----------------------------|-------------------------|
| queue     | QUEUE#<id>        | QUEUE     | BUCKET#<bucket>#QUEUE       | <feature>               |
| workflow  | WORKFLOW#<id>     | WORKFLOW  | BUCKET#<bucket>#WORKFLOW    | <id>                    |
| job       | JOB#<id>          | JOB       |                             |                         |
| execution | EXEC#<id>         | EXEC      | QUEUE#<id>#WAITING (waiting)| <priority rank>#<seq>   |
| bucket    | BUCKET#<bucket>   | CONFIG    |                             |                         |

Documents carry a `version` that every write checks, so concurrent writers never lose updates.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError
from pydantic import BaseModel

from . import aws, config
from .exceptions import NotFoundError, TransientError

M = TypeVar("M", bound=BaseModel)
INDEX = "gsi1"


class ConflictError(Exception):
    """A conditional write lost a race; the caller decides whether to retry."""


def table() -> Any:
    return aws.resource("dynamodb").Table(config.table_name())


def is_condition_failure(error: ClientError) -> bool:
    return error.response["Error"]["Code"] == "ConditionalCheckFailedException"


def _item(pk: str, sk: str, doc: BaseModel, version: int, **attributes: Any) -> dict[str, Any]:
    item = {"pk": pk, "sk": sk, "doc": doc.model_dump_json(), "version": version}
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


def query_index(gsi1pk: str, model: type[M], *, limit: int | None = None) -> list[M]:
    kwargs: dict[str, Any] = {"IndexName": INDEX, "KeyConditionExpression": Key("gsi1pk").eq(gsi1pk)}
    if limit:
        kwargs["Limit"] = limit
    docs: list[M] = []
    while True:
        page = table().query(**kwargs)
        docs.extend(model.model_validate_json(item["doc"]) for item in page["Items"])
        if "LastEvaluatedKey" not in page or (limit and len(docs) >= limit):
            return docs
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


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
