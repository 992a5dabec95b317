"""The control plane's library against the template's table and queues in moto: jobs, cancel, listing,
templates, workflows, and a staged workflow run whose later node reads the earlier node's output."""

from __future__ import annotations

import os
from typing import Any

import boto3
import pytest
from mediaflow.control import submit, templates, workflows
from mediaflow.control.jobs import get_execution, get_job, jobs_of, list_jobs
from mediaflow.control.queues import claim_next, ensure_queues, update_queue, waiting
from mediaflow.exceptions import InvalidInputError, NotFoundError
from mediaflow.models import UnitResult, UnitSpec
from mediaflow.persistence import store
from mediaflow.pipeline import dispatch, planner
from mediaflow.pipeline.finish import finish, record_results
from support import PlannedStage, serve_bucket

pytestmark = pytest.mark.integration
BUCKET = "cp-bucket"
MP4_SD = "t04e1ab86554984f1aa17c062fbf6c007c"


@pytest.fixture
def bucket(stack, sample_video) -> str:
    s3 = boto3.client("s3")
    serve_bucket(BUCKET)
    s3.upload_file(str(sample_video), BUCKET, "in/clip.mp4", ExtraArgs={"ContentType": "video/mp4"})
    return BUCKET


def records(prefix: str) -> list[dict[str, Any]]:
    return [i for i in store.table().scan()["Items"] if i["pk"].startswith(prefix)]


def jobs_request(*operations: dict[str, Any], tag: str = "Transcode", **extra: Any) -> dict[str, Any]:
    return {"Tag": tag, "Input": {"Object": "in/clip.mp4"}, "Operation": list(operations), **extra}


def transcode_op(level: int = 0, **extra: Any) -> dict[str, Any]:
    return {"TemplateId": MP4_SD, "Output": {"Object": "out/${Jobid}.${ext}"}, "JobLevel": str(level), **extra}


def create(body: dict[str, Any]) -> list:
    return submit.create_jobs(BUCKET, body, output_bucket=os.environ["OUTPUT_BUCKET"],
                                    queue_url=os.environ["MEDIA_QUEUE_URL"])


def test_each_operation_is_a_job_queued_by_its_priority(bucket) -> None:
    jobs = create(jobs_request(transcode_op(0, UserData="first"), transcode_op(2)))
    assert [j.State for j in jobs] == ["Submitted", "Submitted"]
    queue = ensure_queues(BUCKET)["media"]
    assert [e.id for e in waiting(queue.QueueId)] == [jobs[1].JobId, jobs[0].JobId]  # JobLevel 2 first
    assert get_job(jobs[0].JobId).Operation.UserData == "first"
    assert get_job(jobs[0].JobId).Operation.TemplateName == "MP4-SD"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (jobs_request(transcode_op(), tag="Nonsense"), "Tag"),
        (jobs_request(*[transcode_op()] * 7), "Operation"),
        (jobs_request(transcode_op(3)), "JobLevel"),
        (jobs_request({"Output": {"Object": "s.jpg"}}, tag="Snapshot"), "Number"),
        (jobs_request({"TemplateId": "t1" + "0" * 32, "Output": {"Object": "o"}}), "does not exist"),
        (jobs_request({"TemplateId": "t01d40e440761448fc8c538fb8d5a5b81e", "Output": {"Object": "o"}}), "Snapshot template"),
        (jobs_request({"Transcode": {"Video": {"Width": "99999"}}, "Output": {"Object": "o"}}), "Width"),
        ({"Tag": "Transcode", "Input": {"Object": "in/missing.mp4"}, "Operation": transcode_op()}, "does not exist"),
        ({"Tag": "Transcode", "Operation": transcode_op()}, "Input"),
        (jobs_request(transcode_op(), QueueId="p" + "0" * 32), "QueueId"),
        (jobs_request(transcode_op(), CallBack="ftp://x"), "CallBack"),
    ],
)
def test_a_bad_request_names_the_field_and_writes_nothing(bucket, body, field) -> None:
    with pytest.raises(InvalidInputError, match=field):
        create(body)
    assert records("JOB#") == [] and records("EXEC#") == []


def test_cancel_takes_a_waiting_job_out_of_the_order_and_refuses_a_started_one(bucket) -> None:
    first, second = create(jobs_request(transcode_op(), transcode_op()))
    queue_id = first.QueueId
    claimed = claim_next(queue_id)  # MaxConcurrent 10: both start
    assert [e.id for e in claimed] == [first.JobId, second.JobId]
    with pytest.raises(InvalidInputError, match="not started"):
        submit.cancel_jobs(BUCKET, [first.JobId])
    third = create(jobs_request(transcode_op()))[0]
    submit.cancel_jobs(BUCKET, [third.JobId])
    submit.cancel_jobs(BUCKET, [third.JobId])  # a repeat changes nothing
    assert get_job(third.JobId).State == "Cancel"
    assert waiting(queue_id) == [] and claim_next(queue_id) == []
    with pytest.raises(NotFoundError):
        submit.cancel_jobs(BUCKET, ["j" + "0" * 32])


def test_a_paused_queue_holds_jobs_in_state_pause_until_resumed(bucket) -> None:
    queue = ensure_queues(BUCKET)["media"]
    url = os.environ["MEDIA_QUEUE_URL"]
    update_queue(BUCKET, "media", queue.QueueId, {"Name": "queue-1", "State": "Paused"}, queue_url=url)
    job = create(jobs_request(transcode_op()))[0]
    assert job.State == "Pause" and claim_next(queue.QueueId) == []
    update_queue(BUCKET, "media", queue.QueueId, {"Name": "queue-1", "State": "Active"}, queue_url=url)
    assert get_job(job.JobId).State == "Submitted"
    assert [e.id for e in claim_next(queue.QueueId)] == [job.JobId]
    with pytest.raises(InvalidInputError, match="Url"):
        update_queue(BUCKET, "media", queue.QueueId, {"Name": "q", "State": "Active", "NotifyConfig": {"State": "On"}},
                     queue_url=url)


def test_jobs_are_listed_newest_first_in_pages_with_filters(bucket) -> None:
    made = [j.JobId for _ in range(3) for j in create(jobs_request(transcode_op(), transcode_op()))]
    seen, token = [], None
    while True:
        page = list_jobs(BUCKET, tags=("Transcode",), size=4, next_token=token)
        seen += [j.JobId for j in page.items]
        token = page.next_token
        if not token:
            break
    assert sorted(seen) == sorted(made) and len(seen) == 6
    assert list_jobs(BUCKET, tags=("Snapshot",)).items == []
    assert list_jobs(BUCKET, states={"Success"}).items == []


def test_custom_templates_are_created_used_changed_and_deleted(bucket) -> None:
    body = {"Tag": "Transcode", "Name": "small-mp4", "Container": {"Format": "mp4"},
            "Video": {"Codec": "H.264", "Width": "320"}, "Audio": {"Codec": "aac"}}
    template = templates.create_template(BUCKET, body)
    assert template.TemplateId.startswith("t1") and len(template.TemplateId) == 34
    job = create(jobs_request({"TemplateId": template.TemplateId, "Output": {"Object": "o.${ext}"}}))[0]
    assert job.Operation.Transcode.Video.Width == 320 and job.Operation.TemplateName == "small-mp4"
    changed = templates.update_template(BUCKET, template.TemplateId, {**body, "Video": {"Codec": "H.264", "Width": "640"}})
    assert changed.params["Video"]["Width"] == 640
    with pytest.raises(InvalidInputError, match="Tag"):
        templates.update_template(BUCKET, template.TemplateId, {**body, "Tag": "Snapshot"})
    with pytest.raises(InvalidInputError, match="Official"):
        templates.delete_template(BUCKET, MP4_SD, [])
    with pytest.raises(InvalidInputError, match="used by"):
        templates.delete_template(BUCKET, template.TemplateId, ["w1"])
    templates.delete_template(BUCKET, template.TemplateId, [])
    assert templates.list_templates(BUCKET) == []
    official = templates.list_templates(BUCKET, category="Official", tag="Animation")
    assert {t.Name for t in official} >= {"gif_320*180_1", "webp_320*180_1"}


def serial_after_parallel(output_bucket: str) -> dict[str, Any]:
    """Start -> Transcode, Snapshot in parallel; Animation after Transcode."""
    return {
        "Name": "serial-after-parallel",
        "Topology": {
            "Dependencies": {"Start": "Transcode_1,Snapshot_1", "Transcode_1": "Animation_1",
                             "Snapshot_1": "End", "Animation_1": "End"},
            "Nodes": {
                "Start": {"Type": "Start", "Input": {"ObjectPrefix": "in/"}},
                "Transcode_1": {"Type": "Transcode", "Operation": {
                    "Transcode": {"Container": {"Format": "mp4"}, "Video": {"Codec": "H.264", "Width": "320"}},
                    "Output": {"Bucket": output_bucket, "Object": "${InputName}/${RunId}.${ext}"}}},
                "Snapshot_1": {"Type": "Snapshot", "Operation": {
                    "TemplateId": "t01d40e440761448fc8c538fb8d5a5b81e",
                    "Output": {"Bucket": output_bucket, "Object": "${InputName}/snap-${Number}.jpg"}}},
                "Animation_1": {"Type": "Animation", "Operation": {
                    "TemplateId": "t046b1d8e5bdf842c6a58d8028b48eafee",
                    "Output": {"Bucket": output_bucket, "Object": "${InputName}/${RunId}.${ext}"}}},
            },
        },
    }


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t["Dependencies"].update(Snapshot_1="Transcode_1"), "follows"),
        (lambda t: t["Dependencies"].update(Animation_1=""), "successors"),
        (lambda t: t["Dependencies"].update(Snapshot_1="Animation_1", Transcode_1="End"), "cannot follow"),
        (lambda t: t["Dependencies"].update(Ghost_1="End"), "Ghost_1"),
        (lambda t: t["Nodes"]["Start"]["Input"].update(QueueId="p" + "1" * 32), "QueueId"),
        (lambda t: t["Nodes"]["Animation_1"]["Operation"].update(TemplateId=MP4_SD), "Transcode template"),
    ],
)
def test_workflows_whose_graph_or_nodes_are_wrong_are_refused(bucket, change, message) -> None:
    spec = serial_after_parallel(os.environ["OUTPUT_BUCKET"])
    change(spec["Topology"])
    with pytest.raises(InvalidInputError, match=message):
        workflows.create_workflow(BUCKET, spec)
    assert records("WORKFLOW#") == []


def test_workflow_update_pause_and_delete(bucket) -> None:
    workflow = workflows.create_workflow(BUCKET, serial_after_parallel(os.environ["OUTPUT_BUCKET"]))
    assert workflow.Topology.stages() == {"Transcode_1": 0, "Snapshot_1": 0, "Animation_1": 1}
    renamed = workflows.update_workflow(BUCKET, workflow.WorkflowId, {**serial_after_parallel(os.environ["OUTPUT_BUCKET"]), "Name": "renamed"})
    assert renamed.Name == "renamed" and renamed.CreateTime == workflow.CreateTime
    assert workflows.set_workflow_state(BUCKET, workflow.WorkflowId, "Paused").State == "Paused"
    assert workflows.matching_workflows(BUCKET, "in/a.mp4") == []
    assert workflows.template_users(BUCKET, "t046b1d8e5bdf842c6a58d8028b48eafee") == [workflow.WorkflowId]
    workflows.delete_workflow(BUCKET, workflow.WorkflowId)
    with pytest.raises(NotFoundError):
        workflows.get_workflow(BUCKET, workflow.WorkflowId)


def run_stage(run_id: str, stage: int) -> tuple[list[UnitSpec], int]:
    planned = PlannedStage(run_id, stage)
    planned.run()
    return [UnitSpec.model_validate(u) for u in planned.units], planned.next_stage


def test_a_later_node_works_on_the_output_of_the_node_it_follows(bucket) -> None:
    output_bucket = os.environ["OUTPUT_BUCKET"]
    workflow = workflows.create_workflow(BUCKET, serial_after_parallel(output_bucket))
    run_id = dispatch.trigger(workflow, "in/clip.mp4", media_queue_url=os.environ["MEDIA_QUEUE_URL"],
                              output_bucket=output_bucket)
    first, next_stage = run_stage(run_id, 0)
    assert {u.kind for u in first} == {"transcode", "snapshot"} and next_stage == 1
    assert all(u.input.key == "in/clip.mp4" for u in first)
    second, next_stage = run_stage(run_id, 1)
    transcode = next(u for u in first if u.kind == "transcode")
    assert [(u.kind, u.input.key) for u in second] == [("animation", transcode.output.key)] and next_stage == -1
    finish(run_id, notify_queue_url=os.environ["NOTIFY_QUEUE_URL"])
    execution = get_execution(run_id)
    assert execution.state == "Success"
    jobs = {j.Workflow.Name: j for j in jobs_of(execution)}
    assert {n: j.State for n, j in jobs.items()} == {"Transcode_1": "Success", "Snapshot_1": "Success", "Animation_1": "Success"}
    gif = jobs["Animation_1"].Operation.MediaResult["OutputFile"]["ObjectName"][0]
    assert gif == f"clip/{run_id}.gif"
    assert boto3.client("s3").get_object(Bucket=output_bucket, Key=gif)["Body"].read(6) in (b"GIF89a", b"GIF87a")


def test_a_node_after_a_failed_node_is_not_run(bucket) -> None:
    workflow = workflows.create_workflow(BUCKET, serial_after_parallel(os.environ["OUTPUT_BUCKET"]))
    run_id = dispatch.trigger(workflow, "in/clip.mp4", media_queue_url=os.environ["MEDIA_QUEUE_URL"],
                              output_bucket=os.environ["OUTPUT_BUCKET"])
    units, _ = planner.plan_units(run_id, 0)
    failed = [UnitResult(job_id=u.job_id, kind=u.kind, ok=False, code="InvalidMedia", message="broken") for u in units]
    record_results(run_id, failed)
    assert planner.plan(run_id, 1)["units"] == []
    animation = next(j for j in jobs_of(get_execution(run_id)) if j.Tag == "Animation")
    assert animation.State == "Failed" and animation.Code == "PredecessorFailed" and "Transcode_1" in animation.Message
