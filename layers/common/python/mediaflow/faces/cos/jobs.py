"""COS CI jobs of the three feature queues: media (/jobs), speech recognition (/asr_jobs) and document
preview (/doc_jobs), each created, described, listed and cancelled alike."""

from __future__ import annotations

from urllib.parse import unquote

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from ...config import setting
from ...control.jobs import describe_jobs, list_jobs
from ...control.queues import tickets_url
from ...control.submit import cancel_jobs, create_jobs
from ...control.templates import FEATURE_TAGS
from ...exceptions import InvalidInputError, NotFoundError
from ...models import Feature, JobState
from ...notify.outbox import deliveries
from ...shapes.cos import jobs_detail
from ..routing import Route, times

router = Router()
route = Route(router)
STATES = frozenset(JobState.__args__)  # type: ignore[attr-defined]


def id_list(path_part: str) -> list[str]:
    """The ids of a path such as /jobs/<id>,<id>; clients may send the commas encoded (%2C)."""
    return [i.strip() for i in unquote(path_part).split(",") if i.strip()]


FAMILIES: dict[str, Feature] = {"jobs": "media", "asr_jobs": "speech", "doc_jobs": "doc"}  # path -> feature


def _feature() -> Feature:
    return FAMILIES[route.path_root()]


@router.post("/jobs")
@router.post("/asr_jobs")
@router.post("/doc_jobs")
def create() -> Response[str]:
    feature = _feature()
    jobs = create_jobs(route.bucket, route.body(), output_bucket=setting("OUTPUT_BUCKET"),
                       queue_url=tickets_url(feature), feature=feature)
    return route.ok({"JobsDetail": [jobs_detail(job) for job in jobs]})


@router.get("/jobs/<job_id>/notifications")
def job_notifications(job_id: str) -> Response[str]:
    """The job's notification records: where each event went and how its delivery went (ours; Tencent has none)."""
    found, _ = describe_jobs(route.bucket, [job_id])
    if not found:
        raise NotFoundError(f"job {job_id} does not exist in bucket {route.bucket}")
    return route.ok({"Notification": [times(d.model_dump()) for d in deliveries(job_id)]})


@router.get("/jobs/<job_ids>")
@router.get("/asr_jobs/<job_ids>")
@router.get("/doc_jobs/<job_ids>")
def describe(job_ids: str) -> Response[str]:
    found, missing = describe_jobs(route.bucket, id_list(job_ids))
    payload = {"JobsDetail": [jobs_detail(job) for job in found]}
    if missing:
        payload["NonExistJobIds"] = missing
    return route.ok(payload)


@router.get("/jobs")
@router.get("/asr_jobs")
@router.get("/doc_jobs")
def list_() -> Response[str]:
    states = {s for s in route.ids("states") if s != "All"}
    if states - STATES:
        raise InvalidInputError(f"states: {', '.join(sorted(states - STATES))} is not a job state")
    order = route.query("orderByTime") or "Desc"
    if order not in ("Desc", "Asc"):
        raise InvalidInputError("orderByTime: Desc or Asc")
    tag, tags = route.query("tag"), FEATURE_TAGS[_feature()]
    found = list_jobs(route.bucket, tags=(tag,) if tag else tags, queue_id=route.query("queueId"),
                      workflow_id=route.query("workflowId"), input_object=route.query("inputObject"), states=states,
                      start=route.time("startCreationTime"), end=route.time("endCreationTime"),
                      newest_first=order == "Desc", size=route.integer("size", 10, 1, 100),
                      next_token=route.query("nextToken") or None)
    return route.ok({"JobsDetail": [jobs_detail(job) for job in found.items], "NextToken": found.next_token})


@router.put("/jobs/<job_ids>")
@router.put("/asr_jobs/<job_ids>")
@router.put("/doc_jobs/<job_ids>")
def cancel(job_ids: str) -> Response[str]:
    if not route.flag("cancel"):
        raise InvalidInputError("PUT /jobs/<id> takes the ?cancel flag")
    cancel_jobs(route.bucket, id_list(job_ids))
    return route.empty()
