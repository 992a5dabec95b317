"""Where a stage's task units and their results live while the stage runs, so that Step Functions
carries only their numbers.

A state's input and output stop at 256 KiB (`States.DataLimitExceeded`, which no Catch sees). Unit
specs (parameters, watermarks, the parts of a join) and results (outputs, media info, a speech
result) grow with the job, so none of them travels in the state: Plan writes each unit of stage s
as one JSON object at `mediaflow-work/<execution>/stage-<s>/unit-<n>.json` in the stack's bucket
(OUTPUT_BUCKET) and the numbers n to run in `items.json`, which the Distributed Map reads; the Map
hands each Unit `{execution_id, stage, index: n}`; the Unit loads its spec, writes its result next
to it (`result-<n>.json`) and returns `{ok, index, report}`; RecordStage and ReportUnit read the results from there. One object per unit: no size
limit (a DynamoDB item stops at 400 KB), and a retried Plan or Unit simply writes the same keys
again. The objects go with the rest of the execution's work prefix when it finishes (and, after a
crash, with the bucket's lifecycle rule).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from botocore.exceptions import ClientError

from .. import aws
from ..config import setting
from ..models import Model, UnitResult, UnitSpec
from .storage import WORK_PREFIX

# S3 requests a step makes at once when it writes or reads a whole stage.
PARALLEL = 16


class UnitRef(Model):
    """What a Map item carries: which unit of which stage of which execution."""

    execution_id: str
    stage: int = 0
    index: int


def work_bucket() -> str:
    return setting("OUTPUT_BUCKET")


def stage_prefix(execution_id: str, stage: int) -> str:
    return f"{WORK_PREFIX}/{execution_id}/stage-{stage}/"


def spec_key(execution_id: str, stage: int, index: int) -> str:
    return f"{stage_prefix(execution_id, stage)}unit-{index}.json"


def result_key(execution_id: str, stage: int, index: int) -> str:
    return f"{stage_prefix(execution_id, stage)}result-{index}.json"


def _put(key: str, body: str) -> None:
    aws.client("s3").put_object(Bucket=work_bucket(), Key=key, Body=body.encode(), ContentType="application/json")


def _get(key: str) -> bytes | None:
    try:
        return aws.client("s3").get_object(Bucket=work_bucket(), Key=key)["Body"].read()
    except ClientError as error:
        if error.response["Error"]["Code"] in ("NoSuchKey", "404"):
            return None
        raise


def _each(work: Any, items: Iterable[Any]) -> list[Any]:
    items = list(items)
    if len(items) <= 1:
        return [work(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(PARALLEL, len(items))) as pool:
        return list(pool.map(work, items))


def save_specs(execution_id: str, stage: int, specs: list[UnitSpec]) -> None:
    """Unit n of the stage is specs[n]. Writing them again (a retried Plan) replaces them."""
    _each(lambda pair: _put(spec_key(execution_id, stage, pair[0]), pair[1].model_dump_json()), enumerate(specs))


def items_key(execution_id: str, stage: int) -> str:
    return f"{stage_prefix(execution_id, stage)}items.json"


def save_items(execution_id: str, stage: int, numbers: list[int]) -> str:
    """The Map's items, one object per unit to run: a JSON array, as its ItemReader reads it. Returns its key."""
    key = items_key(execution_id, stage)
    _put(key, json.dumps([{"index": n} for n in numbers]))
    return key


def load_spec(ref: UnitRef) -> UnitSpec:
    body = _get(spec_key(ref.execution_id, ref.stage, ref.index))
    if body is None:
        raise LookupError(f"unit {ref.index} of stage {ref.stage} of {ref.execution_id} was not planned")
    return UnitSpec.model_validate_json(body)


def load_specs(execution_id: str, stage: int, count: int) -> list[UnitSpec]:
    return [load_spec(UnitRef(execution_id=execution_id, stage=stage, index=n)) for n in range(count)]


def save_result(ref: UnitRef, result: UnitResult) -> None:
    """A retried unit writes its result over the one it wrote before."""
    _put(result_key(ref.execution_id, ref.stage, ref.index), result.model_dump_json())


def load_result(ref: UnitRef) -> UnitResult | None:
    body = _get(result_key(ref.execution_id, ref.stage, ref.index))
    return None if body is None else UnitResult.model_validate_json(body)


def load_results(execution_id: str, stage: int, count: int) -> list[UnitResult]:
    """The results of units 0..count-1 of the stage that wrote one, in unit order."""
    found = _each(lambda n: load_result(UnitRef(execution_id=execution_id, stage=stage, index=n)), range(count))
    return [result for result in found if result is not None]


def payload_bytes(value: Any) -> int:
    """The size of `value` as Step Functions counts it: its JSON text in UTF-8."""
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())
