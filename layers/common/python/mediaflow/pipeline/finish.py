"""Record the outcome of an execution, emit its notifications, and hand its queue slot on.

Runs on the success path (with the units' results) and on the failure path (with the Step
Functions error). Step Functions may retry it, so every step is safe to repeat: job states are
only moved forward, notifications carry stable ids the receiver deduplicates on, and the slot
is released once (guarded by a flag on the execution record).
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from typing import Any

from botocore.exceptions import ClientError
from pydantic import BaseModel

from .. import ids
from ..control.jobs import (
    exec_key,
    get_execution,
    jobs_of,
    update_execution,
    update_job,
)
from ..control.queues import done_keys, release_slot, send_ticket, tickets_url
from ..exceptions import NotFoundError, code_for
from ..models import FINAL_STATES, Execution, Job, UnitResult
from ..notify.outbox import Event, publish
from ..persistence import store, unitstore
from ..persistence.storage import WORK_PREFIX
from ..shapes import mps_tasks
from ..shapes.cos import jobs_detail, workflow_execution
from ..times import now
from .doc_jobs import doc_result
from .planner import reports_changes
from .split import remove_prefix


class StepError(BaseModel):
    """What a Catch puts in ResultPath: the error name and its cause (Lambda's error JSON)."""

    Error: str
    Cause: str | None = None

    def code_and_message(self) -> tuple[str, str]:
        try:
            cause = json.loads(self.Cause or "")
        except ValueError:
            cause = None
        if isinstance(cause, dict) and "errorMessage" in cause:
            return code_for(cause.get("errorType", self.Error)), cause["errorMessage"]
        return code_for(self.Error), self.Cause or self.Error


# Units whose outputs are intermediate objects (of a split transcode, of a speech job), not the job's results.
INTERMEDIATE_KINDS = ("piece", "audio", "speech")


def _media_result(results: list[UnitResult], region: str | None) -> dict[str, Any] | None:
    outputs = [o for r in results if r.kind not in INTERMEDIATE_KINDS for o in r.outputs]
    if not outputs:
        return None
    return {
        "OutputFile": {
            "Bucket": outputs[0].bucket,
            "Region": region,
            "ObjectPrefix": "",
            "ObjectName": [o.key for o in outputs],
            "Md5Info": [{"Md5": o.md5, "ObjectName": o.key} for o in outputs],
        }
    }


def _apply_results(job: Job, results: list[UnitResult], ended: Any) -> None:
    if job.State in FINAL_STATES:
        return
    failed = next((r for r in results if not r.ok), None)
    if not results:
        job.State, job.Code, job.Message = "Failed", "InternalError", "the job produced no result"
    elif failed:
        job.State, job.Code, job.Message = "Failed", failed.code, failed.message
    else:
        job.State, job.Code, job.Message, job.Progress = "Success", "Success", "", 100
        job.Operation.MediaResult = _media_result(results, job.Operation.Output.Region)
        job.Operation.MediaInfo = next((r.media_info for r in results if r.media_info), None)
        parts = [r.result for r in sorted(results, key=lambda r: r.index) if r.result is not None]
        if job.Tag == "SpeechRecognition":
            job.Operation.SpeechRecognitionResult = parts[0] if parts else None
        elif job.Tag == "DocProcess" and job.Operation.DocProcess:
            job.Operation.DocProcessResult = doc_result(parts, job.Operation.DocProcess.extension)
    job.EndTime = ended


def _fail(job: Job, code: str, message: str, ended: Any) -> None:
    if job.State not in FINAL_STATES:
        job.State, job.Code, job.Message, job.EndTime = "Failed", code, message, ended


def _events(execution: Execution, jobs: list[Job]) -> list[Event]:
    """The execution's end: TaskFinish per job and WorkflowFinish per run, or one MPS WorkflowTask
    event per ProcessMedia task. Each goes to the inbox; those the applicable rule wants are sent."""
    at = execution.ended or now()
    if execution.task is not None:
        return [task_event(execution, jobs, execution.id, at)]
    events = []
    for job in jobs:
        rule = job.notify
        events.append(Event(id=ids.stable_id("msg_", execution.id, job.JobId, "TaskFinish"), bucket=execution.bucket,
                            type="TaskFinish", subject=job.JobId, at=job.EndTime or at,
                            content={"EventName": "TaskFinish", "JobsDetail": jobs_detail(job)},
                            rule=rule if rule and rule.wants("TaskFinish") else None))
    if execution.workflow_id:
        rule = execution.notify
        events.append(Event(id=ids.stable_id("msg_", execution.id, execution.id, "WorkflowFinish"), bucket=execution.bucket,
                            type="WorkflowFinish", subject=execution.id, at=at,
                            content={"EventName": "WorkflowFinish", "WorkflowExecution": workflow_execution(execution, jobs)},
                            rule=rule if rule and rule.wants("WorkflowFinish") else None))
    return events


def task_event(execution: Execution, jobs: list[Job], about: str, at: Any) -> Event:
    """An MPS WorkflowTask event: at the end of a task, or (NotifyMode Change) when subtask `about` ends."""
    rule = execution.notify
    return Event(id=ids.stable_id("msg_", execution.id, about, "WorkflowTask"), bucket=execution.bucket,
                 type="WorkflowTask", subject=execution.id, at=at, json_only=True,
                 content=mps_tasks.task_event(execution, jobs, execution.task or {}),
                 rule=rule if rule and rule.State == "On" else None)


def _release_once(execution: Execution) -> None:
    if execution.started is None:
        return  # never claimed a slot (it failed or was cancelled before starting)
    try:
        store.table().update_item(
            Key=dict(zip(("pk", "sk"), exec_key(execution.id))),
            UpdateExpression="SET released = :t",
            ConditionExpression="attribute_not_exists(released)",
            ExpressionAttributeValues={":t": True},
        )
    except ClientError as error:
        if store.is_condition_failure(error):
            return
        raise
    release_slot(execution.queue_id)
    send_ticket(tickets_url(execution.feature), execution.queue_id)  # the freed slot's queue goes on


def record_results(execution_id: str, results: list[UnitResult], *, notify_queue_url: str | None = None) -> dict[str, Any]:
    """Record the outcome of one stage's jobs, so that the next stage can read their outputs. A task
    that reports each subtask as it ends hears now of those that ran as several units (a split
    transcode; a subtask of one unit was reported as the unit ended)."""
    ended = now()
    by_job: dict[str, list[UnitResult]] = defaultdict(list)
    for result in results:
        by_job[result.job_id].append(result)
    for job_id, job_results in by_job.items():
        update_job(job_id, lambda job, rs=job_results: _apply_results(job, rs, ended))
    execution = get_execution(execution_id)
    several = sorted(job_id for job_id, job_results in by_job.items() if len(job_results) > 1)
    if notify_queue_url and several and reports_changes(execution):
        jobs = jobs_of(execution)
        publish([task_event(execution, jobs, job_id, ended) for job_id in several], notify_queue_url)
    return {"recorded": sorted(by_job)}


def record_stage(execution_id: str, stage: int, *, notify_queue_url: str | None = None) -> dict[str, Any]:
    """Record a stage from the results its units stored (see unitstore): as many as Plan planned."""
    count = get_execution(execution_id).stage_units.get(stage, 0)
    return record_results(execution_id, unitstore.load_results(execution_id, stage, count),
                          notify_queue_url=notify_queue_url)


def report_unit(execution_id: str, result: UnitResult | unitstore.UnitRef, *, notify_queue_url: str) -> dict[str, Any]:
    """A subtask of a task with NotifyMode Change ended: record it and tell the owner now, not
    only when the whole task ends. `result` is the unit's result, or which unit's stored result."""
    execution = get_execution(execution_id)
    if isinstance(result, unitstore.UnitRef):
        stored = unitstore.load_result(result)
        if stored is None:
            raise LookupError(f"unit {result.index} of stage {result.stage} of {execution_id} stored no result")
        result = stored
    job = update_job(result.job_id, lambda doc: _apply_results(doc, [result], now()))
    publish([task_event(execution, jobs_of(execution), job.JobId, job.EndTime or now())], notify_queue_url)
    return {"reported": job.JobId, "state": job.State}


def finish(
    execution_id: str,
    *,
    results: list[UnitResult] | None = None,
    error: StepError | None = None,
    notify_queue_url: str,
) -> dict[str, Any]:
    execution = get_execution(execution_id)
    if os.environ.get("OUTPUT_BUCKET"):  # gone before the outcome shows: what units left (a converted document, ...)
        remove_prefix(os.environ["OUTPUT_BUCKET"], f"{WORK_PREFIX}/{execution_id}/")
    ended = now()
    by_job: dict[str, list[UnitResult]] = defaultdict(list)
    for result in results or []:
        by_job[result.job_id].append(result)
    code, message = error.code_and_message() if error else ("", "")
    for job_id in execution.job_ids:
        if error:
            update_job(job_id, lambda job: _fail(job, code, message, ended))
        else:
            update_job(job_id, lambda job, rs=by_job[job_id]: _apply_results(job, rs, ended))
    jobs = jobs_of(execution)
    state = "Success" if all(j.State == "Success" for j in jobs) else "Failed"

    def record(doc: Execution) -> None:
        if doc.state not in FINAL_STATES:
            doc.state, doc.ended = state, ended

    execution = update_execution(execution_id, record, state=state,
                                 **done_keys(execution.queue_id, execution.ended or ended))
    if not execution.notified:
        # A retry after a crash right here sends them again: at least once, with stable ids.
        publish(_events(execution, jobs), notify_queue_url)
        update_execution(execution_id, lambda doc: setattr(doc, "notified", True))
    _release_once(execution)
    return {"state": execution.state, "jobs": {j.JobId: j.State for j in jobs}}


class ExecutionStatus(BaseModel):
    """The detail of an EventBridge "Step Functions Execution Status Change" event."""

    name: str
    status: str
    error: str | None = None
    cause: str | None = None


def reap(status: ExecutionStatus, *, notify_queue_url: str) -> dict[str, Any] | None:
    """An execution that ended without recording its outcome (timed out, aborted, failed beyond its
    Catch) is recorded as failed now, so its owner is told and its queue slot is freed. Executions
    that did record their outcome are left as they are."""
    try:
        execution = get_execution(status.name)
    except NotFoundError:
        return None  # not one of ours
    if execution.state in FINAL_STATES and execution.notified:
        return {"state": execution.state, "reaped": False}
    error = StepError(Error=status.error or f"States.{status.status}",
                      Cause=status.cause or f"the job's execution ended {status.status} before recording its outcome")
    return finish(status.name, error=error, notify_queue_url=notify_queue_url) | {"reaped": True}
