"""COS CI queues: DescribeMediaQueues / UpdateMediaQueue and their speech (asr) and doc twins."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from ...control.queues import figures, list_queues, tickets_url, update_queue
from ...exceptions import InvalidInputError
from ...models import Feature, Queue
from ...notify.secrets import bucket_secret
from ..routing import Route, page, times

router = Router()
route = Route(router)


def queue_element(queue: Queue) -> dict[str, Any]:
    """The queue as Tencent shows it, with its cost limits beside MaxConcurrent (MaxInputSize bytes,
    MaxInputDuration seconds, MaxOutputsPerJob; 0: no limit), plus what it is doing now (Statistics)
    and the key that signs its bucket's callbacks (NotifySigningKey, Standard Webhooks)."""
    duration = queue.MaxInputDuration
    return times(queue.model_dump(exclude={"Feature"})) | {
        "MaxInputDuration": int(duration) if duration.is_integer() else duration,  # "21600", not "21600.0"
        "Statistics": figures(queue.QueueId).model_dump(), "NotifySigningKey": bucket_secret(queue.BucketId)}


def _describe(feature: Feature) -> Response[str]:
    state = route.query("state")
    if state not in (None, "", "All", "Active", "Paused"):
        raise InvalidInputError("state: All, Active or Paused")
    number, size = route.integer("pageNumber", 1, 1, 10000), route.integer("pageSize", 10, 1, 100)
    queues, missing = list_queues(route.bucket, feature, queue_ids=route.ids("queueIds"), state=state)
    payload: dict[str, Any] = {"TotalCount": len(queues), "PageNumber": number, "PageSize": size,
                               "QueueList": [queue_element(q) for q in page(queues, number, size)]}
    if missing:
        payload["NonExistPIDs"] = {"QueueID": missing}
    return route.ok(payload)


def _update(feature: Feature, queue_id: str) -> Response[str]:
    queue = update_queue(route.bucket, feature, queue_id, route.body(), queue_url=tickets_url(feature))
    return route.ok({"Queue": queue_element(queue)})


@router.get("/queue")
def describe_media_queues() -> Response[str]:
    return _describe("media")


@router.put("/queue/<queue_id>")
def update_media_queue(queue_id: str) -> Response[str]:
    return _update("media", queue_id)


@router.get("/asrqueue")
def describe_speech_queues() -> Response[str]:
    return _describe("speech")


@router.put("/asrqueue/<queue_id>")
def update_speech_queue(queue_id: str) -> Response[str]:
    return _update("speech", queue_id)


@router.get("/docqueue")
def describe_doc_queues() -> Response[str]:
    return _describe("doc")


@router.put("/docqueue/<queue_id>")
def update_doc_queue(queue_id: str) -> Response[str]:
    return _update("doc", queue_id)
