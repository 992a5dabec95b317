"""A task flow chosen at upload (VOD's `procedure` given with an upload): an object uploaded with the
metadata ``x-amz-meta-mediaflow-schedule: <ScheduleId or ScheduleName>`` runs that MPS schedule on
itself, whether or not a workflow watches the bucket and whether or not the schedule is enabled
(naming it is asking for it, as ProcessMedia's ScheduleId does).

A name that is no schedule, or that several schedules share, is never dropped in silence: it
gives a ScheduleTask that ends at once as failed (ErrCode 40000, the reason in its Message),
listed by DescribeTasks, kept in the bucket's event inbox (PullEvents) and sent to the bucket's
media queue's notification rule when it has one (the owner's default callback).
"""

from __future__ import annotations

from .. import ids
from ..control.jobs import created_key, exec_key, update_execution
from ..control.queues import ensure_queues
from ..control.workflows import Workflow, mps_workflows
from ..models import Execution
from ..notify.outbox import publish
from ..persistence import store
from ..shapes import mps
from ..times import now
from .finish import task_event

SCHEDULE_METADATA = "mediaflow-schedule"  # S3 user metadata: x-amz-meta-mediaflow-schedule


def chosen(metadata: dict[str, str]) -> str | None:
    """The schedule an upload names, if it names one."""
    return (metadata.get(SCHEDULE_METADATA) or "").strip() or None


def find(name: str) -> tuple[Workflow | None, str]:
    """The schedule with this ScheduleId or ScheduleName, or None and why none is run."""
    schedules = mps_workflows("Schedule")
    by_id = [s for s in schedules if s.WorkflowId == name]
    found = by_id or [s for s in schedules if s.Name == name]
    if len(found) == 1:
        return found[0], ""
    if found:
        return None, (f"{SCHEDULE_METADATA}: {len(found)} schedules are named {name!r}; "
                      f"name one by its ScheduleId ({', '.join(s.WorkflowId for s in found)})")
    return None, f"{SCHEDULE_METADATA}: no schedule has the ScheduleId or ScheduleName {name!r}"


def run_id(bucket: str, key: str, version: str, name: str) -> str:
    """The task of an upload naming a schedule (a repeated event finds it again)."""
    return mps.task_id(ids.stable_id(ids.RUN, bucket, key, version, "schedule", name).removeprefix(ids.RUN)[:32])


def refuse(task_id: str, bucket: str, key: str, region: str, reason: str, *, notify_queue_url: str) -> str:
    """A ScheduleTask that failed before it could start: recorded as ended, and notified."""
    found = store.get(*exec_key(task_id), Execution)
    if found is not None and found[0].notified:
        return task_id
    queue = ensure_queues(bucket)["media"]
    created = now()
    info = mps.TaskInfo(TaskId=task_id, TaskType="ScheduleTask", Subtasks={}, Refused=reason, InputInfo={
        "Type": "COS", "CosInputInfo": {"Bucket": bucket, "Region": region, "Object": "/" + key}})
    execution = found[0] if found else Execution(
        id=task_id, queue_id=queue.QueueId, bucket=bucket, job_ids=[], created=created, ended=created,
        state="Failed", object=key, notify=queue.NotifyConfig, task=info.model_dump(mode="json"))
    if found is None:
        store.put_new(*exec_key(task_id), execution, state="Failed", gsi2pk=mps.TASKS,
                      gsi2sk=created_key(created, task_id))
    publish([task_event(execution, [], task_id, created)], notify_queue_url)
    update_execution(task_id, lambda doc: setattr(doc, "notified", True))
    return task_id
