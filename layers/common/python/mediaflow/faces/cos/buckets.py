"""COS CI bucket activation: `POST /mediabucket` (and the speech and document ones) opens the service on
a bucket, `GET /mediabucket` lists the buckets it serves (`ci_create_media_bucket`, `ci_get_media_bucket`)."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from ...config import region
from ...control import buckets
from ...control.queues import ensure_queues
from ...times import now
from ..routing import Route, times

router = Router()
route = Route(router)


def _element(record: buckets.Activation) -> dict:
    return times({"BucketId": record.BucketId, "Name": record.BucketId, "Region": record.Region,
                  "CreateTime": record.CreateTime, "State": record.State, "Access": record.Access,
                  "Events": record.Events})


@router.post("/mediabucket")
@router.post("/asrbucket")
@router.post("/docbucket")
def activate_bucket() -> Response[str]:
    """Open the service on the bucket. A bucket the stack does not own is served once the bucket policy
    and EventBridge setting in `Setup` are in place: post again after applying them."""
    record = buckets.activate(route.bucket)
    if record.State == "Active":
        ensure_queues(route.bucket)
        return route.ok({"MediaBucket": _element(record)})
    return route.ok({"MediaBucket": {**_element(record), "Setup": buckets.setup(route.bucket)}})


@router.get("/mediabucket")
@router.get("/asrbucket")
@router.get("/docbucket")
def list_buckets() -> Response[str]:
    """The served and activated buckets, filtered by name (`bucketName` a part, `bucketNames` a list) and paged."""
    part, names = route.query("bucketName") or "", set(route.ids("bucketNames"))
    size, page = route.integer("pageSize", 10, 1, 100), route.integer("pageNumber", 1, 1, 100_000)
    records = {name: buckets.Activation(BucketId=name, Region=region(), CreateTime=now(), UpdateTime=now(),
                                        State="Active", Access="Granted", Events="On")
               for name in buckets.own_buckets()}
    records.update({record.BucketId: record for record in buckets.activated()})
    key = router.context.get("key")
    listed = [records[name] for name in sorted(records)
              if part in name and (not names or name in names) and (key is None or key.sees(name))]
    shown = listed[(page - 1) * size: page * size]
    return route.ok({"TotalCount": len(listed), "PageNumber": page, "PageSize": size,
                     "MediaBucketList": [_element(record) for record in shown]})
