"""The steps of one run called in order with their events/ samples, in-process: plan -> units -> finish
-> notifier -> a real local HTTP receiver. (Step Functions drives the same steps in e2e.)"""

from __future__ import annotations

import json
import os
from collections.abc import Callable

import boto3
import pytest
import xmltodict
from mediaflow.control.jobs import get_execution, get_job, jobs_of
from mediaflow.local.demo import CallbackReceiver
from mediaflow.models import ObjectRef, UnitSpec
from mediaflow.notify import verify
from mediaflow.notify.secrets import bucket_secret
from mediaflow.persistence import unitstore
from mediaflow.persistence.unitstore import payload_bytes
from mediaflow.pipeline import planner, speech_jobs
from support import (
    EVENT_BUCKET,
    LambdaContext,
    dispatched_run,
    import_handler,
    load_event,
    sqs_event,
)

pytestmark = pytest.mark.integration

BUCKET = EVENT_BUCKET


@pytest.fixture
def receiver():
    server = CallbackReceiver()
    yield server
    server.stop()


def notify_event(queue_url: str) -> tuple[dict, list[dict]]:
    """Receive the notification queue's messages as the event source mapping hands them over."""
    messages = boto3.client("sqs").receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10,
                                                   AttributeNames=["All"]).get("Messages", [])
    return sqs_event(queue_url, messages), messages


def test_unit_events_produce_real_outputs(stack, handler_env, sample_video) -> None:
    run_id = dispatched_run(handler_env, sample_video)
    jobs = {get_job(j).Workflow.Name: j for j in get_execution(run_id).job_ids}
    unit = import_handler("unit", handler_env)

    transcode = load_event("unit-transcode") | {"execution_id": run_id, "job_id": jobs["Transcode_360"]}
    snapshot = load_event("unit-snapshot") | {"execution_id": run_id, "job_id": jobs["Snapshot_1"]}
    made = [unit.handler(transcode, LambdaContext()), unit.handler(snapshot, LambdaContext())]

    assert all(result["ok"] for result in made), made
    assert [o["key"] for o in made[0]["outputs"]] == ["uploads/sample_360p.mp4"]
    assert made[0]["media_info"]["Stream"]["Video"][0]["Height"] == "360"
    assert [o["key"] for o in made[1]["outputs"]] == [f"uploads/sample_snap_{i}.jpg" for i in range(4)]
    s3 = boto3.client("s3")
    for output in made[0]["outputs"] + made[1]["outputs"]:
        head = s3.head_object(Bucket=output["bucket"], Key=output["key"])
        assert head["ContentLength"] == output["size"] and head["ETag"].strip('"') == output["md5"]
    assert get_job(jobs["Transcode_360"]).Progress == 99  # done, not yet recorded by finish


def test_unit_event_on_a_corrupt_input_fails_the_job_not_the_worker(stack, handler_env, sample_video) -> None:
    run_id = dispatched_run(handler_env, sample_video)
    boto3.client("s3").put_object(Bucket=BUCKET, Key="uploads/sample.mp4", Body=b"\x00" * 4096)
    job_id = get_execution(run_id).job_ids[0]
    result = import_handler("unit", handler_env).handler(
        load_event("unit-transcode") | {"execution_id": run_id, "job_id": job_id}, LambdaContext()
    )
    assert result["ok"] is False and result["code"] != "Success" and result["message"]
    assert boto3.client("s3").list_objects_v2(Bucket=stack.outputs["OutputBucketName"]).get("KeyCount", 0) == 0


def test_plan_units_finish_notify_deliver_signed_callbacks(stack, handler_env, sample_video, receiver) -> None:
    run_id = dispatched_run(handler_env, sample_video, receiver.url)
    plan = import_handler("plan", handler_env).handler(load_event("plan-execution") | {"execution_id": run_id}, LambdaContext())
    unit = import_handler("unit", handler_env)
    answers = [unit.handler(load_event("unit-planned") | {"execution_id": run_id, "index": n}, LambdaContext())
               for n in plan["units"]]
    assert answers == [{"ok": True, "index": n, "report": False} for n in plan["units"]]
    finish = import_handler("finish", handler_env)
    recorded = finish.handler(load_event("finish-record-stage") | {"execution_id": run_id}, LambdaContext())
    assert len(recorded["recorded"]) == 3

    outcome = finish.handler({"execution_id": run_id}, LambdaContext())
    assert outcome["state"] == "Success"

    event, _ = notify_event(stack.outputs["NotifyQueueUrl"])
    assert len(event["Records"]) == 4
    response = import_handler("notify", handler_env).handler(event, LambdaContext())

    assert response == {"batchItemFailures": []}
    assert len(receiver.received) == 4
    secret = bucket_secret(BUCKET)
    names = []
    for callback in receiver.received:
        verify(secret, callback["headers"], callback["body"])
        body = xmltodict.parse(callback["body"])["Response"]
        if body["EventName"] == "TaskFinish":
            names.append(body["JobsDetail"]["Workflow"]["Name"])
            assert body["JobsDetail"]["State"] == "Success" and body["JobsDetail"]["Progress"] == "100"
    assert sorted(names) == ["Snapshot_1", "Transcode_360", "Transcode_720"]


def test_notify_refuses_unsafe_url_straight_to_the_dlq(stack, handler_env) -> None:
    sqs = boto3.client("sqs")
    notification = json.loads(load_event("notify-callback")["Records"][0]["body"]) | {"bucket": BUCKET}
    notification["rule"]["Url"] = "http://169.254.169.254/latest/meta-data/"
    sqs.send_message(QueueUrl=stack.outputs["NotifyQueueUrl"], MessageBody=json.dumps(notification))
    event, _ = notify_event(stack.outputs["NotifyQueueUrl"])

    assert import_handler("notify", handler_env).handler(event, LambdaContext()) == {"batchItemFailures": []}

    dead = sqs.receive_message(QueueUrl=stack.outputs["NotifyDeadLetterQueueUrl"], MessageAttributeNames=["All"])["Messages"]
    reason = dead[0]["MessageAttributes"]["reason"]["StringValue"]
    assert "169.254.169.254" in reason and "refused" in reason


# ------------------------------------------------------------------ state size (Step Functions stops at 256 KiB)
WATERMARKS = [{"Type": "Text", "Pos": pos, "Dx": "10", "Dy": "10", "StartTime": "0", "EndTime": "3600",
               "Text": {"Text": f"mediaflow watermark {n}", "FontSize": "30", "FontColor": "0xFFFFFF", "Transparency": "80"}}
              for n, pos in enumerate(("TopLeft", "TopRight", "BottomLeft"))]
TRANSCODE_PARAMS = {"Container": {"Format": "mp4"}, "Video": {"Codec": "H.264", "Height": "720", "Crf": "23", "Preset": "veryfast"},
                    "Audio": {"Codec": "aac", "Bitrate": "128"}}


def split_like(pieces: int) -> Callable[..., list[UnitSpec]]:
    """A stand-in for planner.units_for: each job becomes `pieces` piece units with three watermarks,
    an audio unit and a join over all pieces, shaped as split.plan_split makes them (no media needed)."""
    def units_for(job, execution, source, inputs, queue) -> list[UnitSpec]:
        def work(name: str) -> ObjectRef:
            return ObjectRef(bucket=os.environ["OUTPUT_BUCKET"], key=f"mediaflow-work/{execution.id}/{job.JobId}/{name}")

        common = {"execution_id": execution.id, "job_id": job.JobId, "params": TRANSCODE_PARAMS}
        units = [UnitSpec(kind="piece", input=work(f"src-{n}.mkv"), output=work(f"enc-{n}.mkv"), watermarks=WATERMARKS,
                          images=[None] * 3, duration=6.0, **common) for n in range(pieces)]
        units.append(UnitSpec(kind="audio", input=work("src-audio.mka"), output=work("enc-audio.mka"), duration=600.0, **common))
        join = UnitSpec(kind="join", input=units[0].output, parts=[u.output for u in units[:pieces]], audio=work("enc-audio.mka"),
                        output=ObjectRef(bucket=BUCKET, key=f"out/{job.JobId}.mp4"), duration=600.0, **common)
        return [*units, join]

    return units_for


def state_after_plan(run_id: str, planned: dict) -> int:
    """The state RunUnits gets: the execution's input and Plan's answer with the Maps' concurrency."""
    return payload_bytes({"execution_id": run_id, "stage": 0, "plan": planned | {"concurrency": 40}})


def test_a_full_stage_plans_to_unit_numbers_only(stack, handler_env, sample_video, monkeypatch) -> None:
    run_id = dispatched_run(handler_env, sample_video)  # three jobs in one stage
    monkeypatch.setattr(planner, "units_for", split_like(331))  # 3 x (331 pieces + audio + join) = 999 units

    planned = import_handler("plan", handler_env).handler({"execution_id": run_id, "stage": 0}, LambdaContext())

    assert len(planned["units"]) == 996 and len(planned["joins"]) == 3
    size = state_after_plan(run_id, planned)
    print(f"\nstate after Plan, 999 units (3 split jobs x 331 pieces, 3 watermarks each): {size:,} B")
    assert size < 8 * 1024  # was about 1 KB a unit, with the specs in the state
    units, joins = planner.planned_specs(run_id, 0, planned)
    assert [u.kind for u in joins] == ["join"] * 3 and all(len(j.parts) == 331 for j in joins)
    assert all(len(u.watermarks) == 3 for u in units if u.kind == "piece")
    assert not any(j.State == "Failed" for j in jobs_of(get_execution(run_id)))


def test_a_job_that_would_take_its_stage_over_the_unit_cap_fails_at_plan(stack, handler_env, sample_video, monkeypatch) -> None:
    run_id = dispatched_run(handler_env, sample_video)
    monkeypatch.setattr(planner, "units_for", split_like(400))  # 402 units a job: the third does not fit in 1,000

    planned = planner.plan(run_id, 0)

    assert len(planned["units"]) + len(planned["joins"]) == 804 and state_after_plan(run_id, planned) < 8 * 1024
    jobs = jobs_of(get_execution(run_id))
    refused = [j for j in jobs if j.State == "Failed"]
    assert len(refused) == 1 and refused[0].Code == "InvalidInput.LimitExceeded", [(j.State, j.Message) for j in jobs]
    assert "402 task units" in refused[0].Message and f"at most {planner.MAX_STAGE_UNITS} per stage" in refused[0].Message


def test_a_long_speech_job_plans_to_unit_numbers_only(stack, handler_env, sample_video, monkeypatch) -> None:
    run_id = dispatched_run(handler_env, sample_video)
    chunks = speech_jobs.MAX_CHUNKS

    def speech_units(job, execution, source, inputs, queue) -> list[UnitSpec]:
        if job.Workflow.Name != "Transcode_360":
            return []
        work = [ObjectRef(bucket=os.environ["OUTPUT_BUCKET"], key=f"mediaflow-work/{execution.id}/{job.JobId}/chunk-{n}.json")
                for n in range(chunks)]
        common = {"execution_id": execution.id, "job_id": job.JobId, "params": {"EngineModelType": "16k_en"},
                  "output": ObjectRef(bucket=BUCKET, key="out/talk.srt")}
        units = [UnitSpec(kind="speech", input=ObjectRef(bucket=ref.bucket, key=ref.key[:-4] + "wav"), duration=60.0,
                          **common | {"output": ref}) for ref in work]
        return [*units, UnitSpec(kind="speech_join", input=work[0], parts=work, offsets=[60.0 * n for n in range(chunks)],
                                 duration=60.0 * chunks, **common)]

    monkeypatch.setattr(planner, "units_for", speech_units)
    planned = planner.plan(run_id, 0)

    assert (len(planned["units"]), len(planned["joins"])) == (chunks, 1)
    size = state_after_plan(run_id, planned)
    print(f"\nstate after Plan, a speech job of {chunks} chunks: {size:,} B")
    assert size < 4 * 1024
    _, (join,) = planner.planned_specs(run_id, 0, planned)
    assert len(join.parts) == len(join.offsets) == chunks


def test_a_retried_unit_returns_its_stored_result_without_running_again(stack, handler_env, sample_video, monkeypatch) -> None:
    run_id = dispatched_run(handler_env, sample_video)
    planned = planner.plan(run_id, 0)
    unit = import_handler("unit", handler_env)
    first = unit.handler({"execution_id": run_id, "stage": 0, "index": 0}, LambdaContext())

    monkeypatch.setattr("mediaflow.pipeline.units.run_unit", lambda spec: pytest.fail("a stored result was run again"))
    assert unit.handler({"execution_id": run_id, "stage": 0, "index": 0}, LambdaContext()) == first == \
        {"ok": True, "index": 0, "report": False}
    stored = unitstore.load_results(run_id, 0, len(planned["units"]))
    assert [r.ok for r in stored] == [True] and stored[0].outputs
