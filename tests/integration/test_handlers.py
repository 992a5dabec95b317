"""Each handler with its events/ sample, on a stack built from template.yaml in moto (in-process)."""

from __future__ import annotations

import json
import os
import shutil

import boto3
import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from mediaflow.control import workflows
from mediaflow.control.jobs import get_execution, get_job
from mediaflow.control.queues import ensure_queues, waiting
from mediaflow.docs import open_pdf
from mediaflow.local.demo import DEMO_WORKFLOW
from mediaflow.models import Execution
from mediaflow.persistence import store
from mediaflow.pipeline import planner
from sample_docs import make_docx
from support import (
    EVENT_BUCKET,
    ROOT,
    LambdaContext,
    dispatched_run,
    import_handler,
    load_event,
    sqs_event,
)

pytestmark = pytest.mark.integration



def bind_demo_workflow(bucket: str, callback: str = "http://127.0.0.1:9/cb") -> workflows.Workflow:
    return workflows.create_workflow(bucket, workflows.parse_workflow_xml(DEMO_WORKFLOW.format(prefix="uploads/", callback=callback)))


def test_template_stack_provides_the_event_bucket(stack) -> None:
    assert stack.outputs["InputBucketName"] == EVENT_BUCKET


def test_dispatch_same_event_twice_creates_one_run(stack, handler_env, sample_video) -> None:
    boto3.client("s3").upload_file(str(sample_video), EVENT_BUCKET, "uploads/sample.mp4")
    workflow = bind_demo_workflow(EVENT_BUCKET)
    dispatch = import_handler("dispatch", handler_env)
    event = load_event("dispatch-upload")

    first = dispatch.handler(event, LambdaContext())
    second = dispatch.handler(event, LambdaContext())

    assert first == second and len(first["runs"]) == 1
    execution = get_execution(first["runs"][0])
    assert execution.workflow_id == workflow.WorkflowId and execution.state == "Submitted"
    assert len(execution.job_ids) == 3
    jobs = [get_job(job_id) for job_id in execution.job_ids]
    assert {j.Workflow.Name for j in jobs} == {"Transcode_360", "Transcode_720", "Snapshot_1"}
    assert all(j.State == "Submitted" and j.Input.Object == "uploads/sample.mp4" for j in jobs)
    headers = {h.Key: h.Value for h in jobs[0].Input.CosHeaders}
    assert headers["EventName"] == "cos:ObjectCreated:Put" and int(headers["Size"]) == sample_video.stat().st_size
    # exactly one execution waits in the queue's backlog
    assert [e.id for e in waiting(execution.queue_id)] == [execution.id]
    items = store.table().scan()["Items"]
    assert sum(item["pk"].startswith("EXEC#") for item in items) == 1
    assert sum(item["pk"].startswith("JOB#") for item in items) == 3


def test_dispatch_ignores_objects_outside_the_workflow(stack, handler_env, sample_video) -> None:
    bind_demo_workflow(EVENT_BUCKET)
    boto3.client("s3").upload_file(str(sample_video), EVENT_BUCKET, "elsewhere/sample.mp4")
    event = load_event("dispatch-upload")
    event["Records"][0]["s3"]["object"]["key"] = "elsewhere/sample.mp4"
    assert import_handler("dispatch", handler_env).handler(event, LambdaContext()) == {"runs": []}


def test_process_ticket_starts_the_waiting_run(stack, handler_env, sample_video) -> None:
    run_id = dispatched_run(handler_env, sample_video)
    queue_id = get_execution(run_id).queue_id
    event = load_event("process-ticket")
    event["Records"][0]["body"] = json.dumps({"queue_id": queue_id})

    response = import_handler("process", handler_env).handler(event, LambdaContext())

    assert response == {"batchItemFailures": []}
    assert get_execution(run_id).state == "Running" and waiting(queue_id) == []
    executions = boto3.client("stepfunctions").list_executions(stateMachineArn=stack.outputs["StateMachineArn"])["executions"]
    assert [e["name"] for e in executions] == [run_id]
    assert running_count(queue_id) == 1

    # the same ticket again (SQS redelivery) starts nothing new
    assert import_handler("process", handler_env).handler(event, LambdaContext()) == {"batchItemFailures": []}
    assert running_count(queue_id) == 1

    # finishing frees the slot once, however often Step Functions retries the step
    finish = import_handler("finish", handler_env)
    for _ in range(2):
        finish.handler(load_event("finish-failure") | {"execution_id": run_id}, LambdaContext())
    assert running_count(queue_id) == 0


def running_count(queue_id: str) -> int:
    return int(store.get_attribute(f"QUEUE#{queue_id}", "QUEUE", "running") or 0)


def test_poisoned_ticket_fails_alone_then_lands_in_the_dlq(stack, handler_env) -> None:
    """A record the processor cannot parse is reported alone; SQS redelivers it until the DLQ takes it."""
    sqs = boto3.client("sqs")
    queue_url = stack.outputs["MediaQueueUrl"]
    queue = ensure_queues(EVENT_BUCKET)["media"]
    sqs.send_message(QueueUrl=queue_url, MessageBody="{not json", MessageGroupId="poison", MessageDeduplicationId="p1")
    sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps({"queue_id": queue.QueueId}),
                     MessageGroupId=queue.QueueId, MessageDeduplicationId="g1")
    process = import_handler("process", handler_env)
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["RedrivePolicy"])["Attributes"]
    max_receives = json.loads(attributes["RedrivePolicy"])["maxReceiveCount"]
    dlq_url = sqs.get_queue_url(QueueName=f"{stack.name}-queue-1-dlq.fifo")["QueueUrl"]

    outcomes = []
    for _ in range(max_receives + 2):  # bounded: the poisoned message must reach the DLQ within this
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=0,
                                       AttributeNames=["All"]).get("Messages", [])
        if not messages:
            break
        event = sqs_event(queue_url, messages)
        try:
            failures = {f["itemIdentifier"] for f in process.handler(event, LambdaContext())["batchItemFailures"]}
        except BatchProcessingError:  # every record failed: the invocation fails, the batch comes back
            failures = {m["MessageId"] for m in messages}
        outcomes.append(sorted(m["Body"] == "{not json" for m in messages if m["MessageId"] in failures))
        done = [m for m in messages if m["MessageId"] not in failures]
        for message in done:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])

    assert outcomes[0] == [True], "only the poisoned record is reported as failed"
    assert all(o == [True] for o in outcomes)
    dead = sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10).get("Messages", [])
    assert [m["Body"] for m in dead] == ["{not json"]


def test_finish_failure_event_records_and_notifies(stack, handler_env, sample_video) -> None:
    run_id = dispatched_run(handler_env, sample_video)
    event = load_event("finish-failure")
    event["execution_id"] = run_id

    finish = import_handler("finish", handler_env)
    outcome = finish.handler(event, LambdaContext())
    again = finish.handler(event, LambdaContext())  # Step Functions may retry the step

    assert outcome["state"] == again["state"] == "Failed"
    jobs = [get_job(j) for j in get_execution(run_id).job_ids]
    assert all(j.State == "Failed" and j.Code == "InvalidMedia" and "Invalid data" in j.Message for j in jobs)
    messages = drain(stack.outputs["NotifyQueueUrl"])
    events = sorted(json.loads(m)["event"] for m in messages)
    # 3 TaskFinish + 1 WorkflowFinish, once: the retried step finds them sent
    assert events.count("TaskFinish") == 3 and events.count("WorkflowFinish") == 1
    assert len({json.loads(m)["id"] for m in messages}) == 4
    item = store.table().get_item(Key={"pk": f"QUEUE#{jobs[0].QueueId}", "sk": "QUEUE"})["Item"]
    assert "running" not in item  # it never took a slot (no processor ran), so it gives none back


def drain(queue_url: str) -> list[str]:
    sqs = boto3.client("sqs")
    bodies = []
    for _ in range(20):
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return bodies
        for message in messages:
            bodies.append(message["Body"])
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return bodies


def test_plan_event_cuts_units(stack, handler_env, sample_video) -> None:
    run_id = dispatched_run(handler_env, sample_video)
    event = load_event("plan-execution")
    event["execution_id"] = run_id

    planned = import_handler("plan", handler_env).handler(event, LambdaContext())

    items = f"mediaflow-work/{run_id}/stage-0/items.json"  # what the Distributed Map reads: the numbers to run
    assert planned == {"units": [0, 1, 2], "items": items, "joins": [], "next_stage": -1}  # the specs are in the work store
    stored = boto3.client("s3").get_object(Bucket=os.environ["OUTPUT_BUCKET"], Key=items)["Body"].read()
    assert json.loads(stored) == [{"index": 0}, {"index": 1}, {"index": 2}]
    units, _ = planner.planned_specs(run_id, 0, planned)
    assert all(abs(u.duration - 4.0) < 0.1 for u in units)
    kinds = sorted(u.kind for u in units)
    assert kinds == ["snapshot", "transcode", "transcode"]
    keys = sorted(u.output.key for u in units)
    assert keys == ["uploads/sample_360p.mp4", "uploads/sample_720p.mp4", "uploads/sample_snap_${Number}.jpg"]
    assert len(json.dumps(planned)) < 256 * 1024
    assert store.get(f"EXEC#{run_id}", "EXEC", Execution)[0].units_total == 3


def test_reaper_records_an_execution_that_timed_out(stack, handler_env, sample_video) -> None:
    run_id = dispatched_run(handler_env, sample_video)
    queue_id = get_execution(run_id).queue_id
    ticket = load_event("process-ticket")
    ticket["Records"][0]["body"] = json.dumps({"queue_id": queue_id})
    import_handler("process", handler_env).handler(ticket, LambdaContext())
    assert running_count(queue_id) == 1
    event = load_event("reap-timed-out")
    event["detail"]["name"] = run_id

    reap = import_handler("reap", handler_env)
    outcome = reap.handler(event, LambdaContext())

    assert outcome["reaped"] is True and outcome["state"] == "Failed"
    jobs = [get_job(j) for j in get_execution(run_id).job_ids]
    assert all(j.State == "Failed" and "TIMED_OUT" in j.Message for j in jobs)
    assert len(drain(stack.outputs["NotifyQueueUrl"])) == 4
    assert running_count(queue_id) == 0
    # the FAILED event that follows a recorded failure changes nothing and sends nothing
    assert reap.handler(event, LambdaContext())["reaped"] is False
    assert drain(stack.outputs["NotifyQueueUrl"]) == [] and running_count(queue_id) == 0


def test_reaper_ignores_executions_it_does_not_know(stack, handler_env) -> None:
    event = load_event("reap-timed-out")
    assert import_handler("reap", handler_env).handler(event, LambdaContext()) is None


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) is not installed")
def test_convert_event_turns_the_document_into_a_pdf(stack, handler_env, tmp_path) -> None:
    event = load_event("convert-docx")
    s3 = boto3.client("s3")
    s3.upload_file(str(make_docx(tmp_path / "letter.docx", 2)), event["source"]["bucket"], event["source"]["key"])
    answer = import_handler("convert", handler_env).handler(event, LambdaContext())
    assert answer["key"] == event["target"]["key"]
    pdf = s3.get_object(Bucket=event["target"]["bucket"], Key=event["target"]["key"])["Body"].read()
    assert pdf.startswith(b"%PDF-") and answer["size"] == len(pdf)
    converted = tmp_path / "converted.pdf"
    converted.write_bytes(pdf)
    assert open_pdf(converted, None).page_count == 2


def test_the_deployed_definition_is_the_file_with_its_substitutions(stack) -> None:
    """The raw definition is JSON; deployed, its ${...} are filled and its "$$" context paths kept."""
    raw = json.loads((ROOT / "statemachine" / "job.asl.json").read_text())
    deployed = json.loads(boto3.client("stepfunctions").describe_state_machine(
        stateMachineArn=stack.outputs["StateMachineArn"])["definition"])
    assert deployed["States"]["RunUnits"]["ItemSelector"]["index.$"] == "$$.Map.Item.Value.index"
    assert deployed["States"]["RunUnits"]["ItemReader"]["Parameters"]["Bucket"] == stack.outputs["OutputBucketName"]
    assert deployed["States"]["Plan"]["ResultSelector"]["concurrency.$"] == "States.StringToJson('10')"
    assert deployed["States"]["Plan"]["Resource"].startswith("arn:aws:lambda:")
    assert raw["States"]["RunUnits"]["MaxConcurrencyPath"] == deployed["States"]["RunUnits"]["MaxConcurrencyPath"]
