"""Notifications end to end in-process: a job ends through the real Finish step, the Notifier handler
takes the template's notification queue the way its event source mapping does, and delivers to
real HTTP receivers on loopback, SQS queues and SNS topics in moto."""

from __future__ import annotations

import http.server
import json
import os
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import boto3
import pytest
import xmltodict
from mediaflow import cli
from mediaflow.control import submit
from mediaflow.control.jobs import get_job
from mediaflow.control.queues import ensure_queues, update_queue
from mediaflow.exceptions import InvalidInputError
from mediaflow.models import NotifyConfig, UnitResult
from mediaflow.notify import verify
from mediaflow.notify.outbox import Notification, deliveries
from mediaflow.notify.secrets import bucket_secret
from mediaflow.pipeline.finish import finish
from mediaflow.pipeline.processor import Ticket, start_next
from support import (
    LambdaContext,
    cos_event,
    free_port,
    import_handler,
    serve_bucket,
    sqs_event,
)

pytestmark = pytest.mark.integration
BUCKET = "notify-bucket"
MP4_SD = "t04e1ab86554984f1aa17c062fbf6c007c"


@pytest.fixture
def stack_parameters() -> dict[str, str]:
    # five attempts a second apart; receivers get one second to answer
    return {"AllowLoopbackCallbacks": "true", "CallbackRetrySeconds": "1,1,1,1", "CallbackTimeoutSeconds": "1",
            "NotifyMaxReceiveCount": "3"}


@pytest.fixture
def bucket(stack, sample_video) -> str:
    s3 = boto3.client("s3")
    serve_bucket(BUCKET)
    s3.upload_file(str(sample_video), BUCKET, "in/clip.mp4")
    return BUCKET


class Receiver:
    """A real HTTP receiver on loopback; `answer(n)` gives the status of the n-th request (1-based),
    or a negative number of seconds to hang before answering 200."""

    def __init__(self, answer: Callable[[int], int] = lambda n: 200, port: int = 0) -> None:
        self.requests: list[dict[str, Any]] = []
        self.accepted: list[dict[str, Any]] = []
        lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with lock:
                    receiver.requests.append({"headers": dict(self.headers), "body": body})
                    status = answer(len(receiver.requests))
                if status < 0:
                    time.sleep(-status)
                    status = 200
                try:
                    self.send_response(status)
                    if 300 <= status < 400:
                        self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
                    self.end_headers()
                except OSError:
                    return  # the notifier hung up first
                if 200 <= status < 300:
                    with lock:
                        receiver.accepted.append({"headers": dict(self.headers), "body": body})

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/callback"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def notifier(handler_env: dict[str, str], **overrides: str) -> Any:
    return import_handler("notify", handler_env | overrides)


def end_job(callback: str | None = None, **extra: Any) -> str:
    """Submit a job, start it and end it through Finish: its TaskFinish event is published."""
    body = {"Tag": "Transcode", "Input": {"Object": "in/clip.mp4"},
            "Operation": {"TemplateId": MP4_SD, "Output": {"Object": "out/${Jobid}.mp4"}}, **extra}
    if callback:
        body["CallBack"] = callback
    job = submit.create_jobs(BUCKET, body, output_bucket=os.environ["OUTPUT_BUCKET"],
                                   queue_url=os.environ["MEDIA_QUEUE_URL"])[0]
    start_next(Ticket(queue_id=job.QueueId), state_machine_arn=os.environ["STATE_MACHINE_ARN"],
               queue_url=os.environ["MEDIA_QUEUE_URL"])
    finish(job.JobId, results=[UnitResult(job_id=job.JobId, kind="transcode", ok=True)],
           notify_queue_url=os.environ["NOTIFY_QUEUE_URL"])
    return job.JobId


def pump(handler: Any, done: Callable[[], bool], timeout: float = 30) -> float:
    """Play the notification queue's event source mapping until `done()`; the longest invocation."""
    sqs, url = boto3.client("sqs"), os.environ["NOTIFY_QUEUE_URL"]
    longest, deadline = 0.0, time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, "the notifications did not settle in time"
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                                       AttributeNames=["All"]).get("Messages", [])
        if not messages:
            continue
        began = time.monotonic()
        response = handler.handler(sqs_event(url, messages), LambdaContext())
        longest = max(longest, time.monotonic() - began)
        failed = {f["itemIdentifier"] for f in response["batchItemFailures"]}
        for message in messages:
            if message["MessageId"] not in failed:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return longest


def dead_letters() -> list[dict[str, Any]]:
    sqs = boto3.client("sqs")
    return sqs.receive_message(QueueUrl=os.environ["NOTIFY_DLQ_URL"], MaxNumberOfMessages=10, WaitTimeSeconds=1,
                               MessageAttributeNames=["All"], VisibilityTimeout=0).get("Messages", [])


def test_a_receiver_failing_three_times_gets_exactly_one_accepted_signed_delivery(bucket, handler_env) -> None:
    receiver = Receiver(lambda n: 503 if n <= 3 else 200)
    try:
        job_id = end_job(receiver.url)
        pump(notifier(handler_env), lambda: bool(receiver.accepted))
        time.sleep(1.5)  # a stray extra attempt would have come by now
        pump(notifier(handler_env), lambda: True)
    finally:
        receiver.stop()
    assert len(receiver.requests) == 4 and len(receiver.accepted) == 1
    ids = {r["headers"]["webhook-id"] for r in receiver.requests}
    assert len(ids) == 1  # every attempt carries the same id to deduplicate on
    accepted = receiver.accepted[0]
    verify(bucket_secret(BUCKET), accepted["headers"], accepted["body"])
    assert xmltodict.parse(accepted["body"])["Response"]["JobsDetail"]["JobId"] == job_id
    [record] = deliveries(job_id)
    assert (record.State, record.Attempts, record.Target) == ("Delivered", 4, receiver.url)


def test_a_receiver_down_for_good_leaves_the_event_in_the_dead_letter_queue_until_redriven(bucket, handler_env) -> None:
    port = free_port()  # nothing listens there yet
    url = f"http://127.0.0.1:{port}/callback"
    job_id = end_job(url)
    pump(notifier(handler_env), lambda: deliveries(job_id)[0].State == "Failed")
    [record] = deliveries(job_id)
    assert record.Attempts == 5 and "connection failed" in record.LastError
    [dead] = dead_letters()
    assert json.loads(dead["Body"])["subject"] == job_id and "attempt 5" in dead["MessageAttributes"]["reason"]["StringValue"]

    receiver = Receiver(port=port)
    try:
        assert cli.main(["notifications", "redrive", "--stack", "mediaflow"]) == 0
        pump(notifier(handler_env), lambda: bool(receiver.accepted))
    finally:
        receiver.stop()
    assert deliveries(job_id)[0].State == "Delivered" and dead_letters() == []
    verify(bucket_secret(BUCKET), receiver.accepted[0]["headers"], receiver.accepted[0]["body"])


def test_a_hanging_receiver_holds_a_worker_no_longer_than_the_timeout(bucket, handler_env) -> None:
    receiver = Receiver(lambda n: -20)  # answers after 20 s
    try:
        jobs = [end_job(receiver.url) for _ in range(4)]
        longest = pump(notifier(handler_env, CALLBACK_TIMEOUT_SECONDS="2"),
                       lambda: all(deliveries(j)[0].State == "Retrying" for j in jobs))
    finally:
        receiver.stop()
    # four deliveries to the same hanging receiver, in one batch: they wait together, once
    assert longest < 2 * 2 + 1.5, f"a batch of hanging deliveries held the worker {longest:.1f} s"
    assert all("timed out" in deliveries(j)[0].LastError for j in jobs)


UNSAFE = {
    "metadata": "http://169.254.169.254/latest/meta-data/",
    "private": "http://10.0.0.1/callback",
    "loopback v6": "http://[::1]:8080/callback",
    "name of a private address": "http://callbacks.example.com/hook",
}


def test_unsafe_callback_urls_are_refused_and_the_refusal_is_on_the_jobs_record(bucket, handler_env, serve, monkeypatch) -> None:
    real = socket.getaddrinfo
    monkeypatch.setattr(socket, "getaddrinfo", lambda host, *a, **k: (
        [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.20.30.40", 0))] if host == "callbacks.example.com" else real(host, *a, **k)))
    jobs = {name: end_job(url) for name, url in UNSAFE.items()}
    pump(notifier(handler_env, ALLOW_LOOPBACK_CALLBACKS="false"),
         lambda: all(deliveries(j)[0].State == "Refused" for j in jobs.values()))
    for name, job_id in jobs.items():
        [record] = deliveries(job_id)
        assert record.Attempts == 1 and "refused" in record.LastError, (name, record)
    assert "link-local" in deliveries(jobs["metadata"])[0].LastError
    shown = serve(cos_event("GET", f"http://127.0.0.1/buckets/{BUCKET}/jobs/{jobs['private']}/notifications"))
    record = xmltodict.parse(shown["body"])["Response"]["Notification"]
    assert shown["statusCode"] == 200 and record["State"] == "Refused" and "10.0.0.1 is private" in record["LastError"]
    other = serve(cos_event("GET", f"http://127.0.0.1/buckets/other-bucket/jobs/{jobs['private']}/notifications"))
    assert other["statusCode"] == 404  # a job is seen from its own bucket only
    assert "10.20.30.40 is private" in deliveries(jobs["name of a private address"])[0].LastError
    assert len(dead_letters()) == len(UNSAFE)


def test_a_redirect_towards_an_internal_address_is_not_followed(bucket, handler_env) -> None:
    receiver = Receiver(lambda n: 302)
    try:
        job_id = end_job(receiver.url)
        pump(notifier(handler_env), lambda: deliveries(job_id)[0].State == "Failed")
    finally:
        receiver.stop()
    [record] = deliveries(job_id)
    assert "HTTP 302" in record.LastError and "redirects are not followed" in record.LastError
    assert len(receiver.requests) == 5  # each attempt stopped at the redirect


def test_events_are_pushed_to_an_sqs_queue_and_through_an_sns_topic(bucket, handler_env) -> None:
    sqs, sns = boto3.client("sqs"), boto3.client("sns")
    direct = sqs.create_queue(QueueName="owner-events")["QueueUrl"]
    fanned = sqs.create_queue(QueueName="owner-fanout")["QueueUrl"]
    fanned_arn = sqs.get_queue_attributes(QueueUrl=fanned, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    topic = sns.create_topic(Name="owner-topic")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=fanned_arn, Attributes={"RawMessageDelivery": "true"})

    queued = end_job(CallBackType="TDMQ", CallBackFormat="JSON",
                     CallBackMqConfig={"MqMode": "Queue", "MqRegion": "us-east-1", "MqName": "owner-events"})
    published = end_job(CallBackType="TDMQ", CallBackMqConfig={"MqMode": "Topic", "MqRegion": "sh", "MqName": "owner-topic"})
    pump(notifier(handler_env), lambda: all(deliveries(j)[0].State == "Delivered" for j in (queued, published)))

    [message] = sqs.receive_message(QueueUrl=direct, MessageAttributeNames=["All"], WaitTimeSeconds=1)["Messages"]
    body = json.loads(message["Body"])  # JSON, as the job asked
    assert body["EventName"] == "TaskFinish" and body["JobsDetail"]["JobId"] == queued
    assert message["MessageAttributes"]["mediaflow-event-id"]["StringValue"] == deliveries(queued)[0].Id
    [message] = sqs.receive_message(QueueUrl=fanned, MessageAttributeNames=["All"], WaitTimeSeconds=1)["Messages"]
    assert xmltodict.parse(message["Body"])["Response"]["JobsDetail"]["JobId"] == published  # XML, the default
    assert deliveries(published)[0].Target == "sns:owner-topic"


def test_job_callback_overrides_the_queue_rule_and_callback_no_suppresses_it(bucket, handler_env) -> None:
    queue_receiver, job_receiver = Receiver(), Receiver()
    queue = ensure_queues(BUCKET)["media"]
    update_queue(BUCKET, "media", queue.QueueId,
                 {"Name": "queue-1", "State": "Active",
                  "NotifyConfig": {"State": "On", "Type": "Url", "Url": queue_receiver.url, "Event": "TaskFinish"}},
                 queue_url=os.environ["MEDIA_QUEUE_URL"])
    try:
        by_queue, by_job, silenced = end_job(), end_job(job_receiver.url), end_job("no")
        pump(notifier(handler_env), lambda: len(queue_receiver.accepted) + len(job_receiver.accepted) >= 2)
    finally:
        queue_receiver.stop()
        job_receiver.stop()
    sent_to = {xmltodict.parse(r["body"])["Response"]["JobsDetail"]["JobId"]: "queue" for r in queue_receiver.accepted}
    sent_to |= {xmltodict.parse(r["body"])["Response"]["JobsDetail"]["JobId"]: "job" for r in job_receiver.accepted}
    assert sent_to == {by_queue: "queue", by_job: "job"}
    assert deliveries(silenced) == [] and get_job(silenced).State == "Success"
    update_queue(BUCKET, "media", queue.QueueId,
                 {"Name": "queue-1", "State": "Active", "NotifyConfig": {"State": "Off", "Url": queue_receiver.url}},
                 queue_url=os.environ["MEDIA_QUEUE_URL"])
    assert deliveries(end_job()) == []  # the rule is Off: nothing is sent (the event is still in the inbox)


def test_queues_out_of_the_notifiers_reach_are_refused_and_the_refusal_is_on_the_record(bucket, handler_env, monkeypatch) -> None:
    sqs = boto3.client("sqs")
    own = os.environ["MEDIA_QUEUE_URL"].rsplit("/", 1)[-1]  # a claim-ticket queue: pushing there injects work
    with pytest.raises(InvalidInputError, match="this stack's own queues"):
        end_job(CallBackType="TDMQ", CallBackMqConfig={"MqMode": "Queue", "MqRegion": "sh", "MqName": own})

    # A rule set under one NotifyTargetNames, delivered after the stack narrowed it: refused, not sent.
    owner = sqs.create_queue(QueueName="owner-events")["QueueUrl"]
    job_id = end_job(CallBackType="TDMQ", CallBackMqConfig={"MqMode": "Queue", "MqRegion": "sh", "MqName": "owner-events"})
    monkeypatch.setenv("NOTIFY_TARGET_NAMES", "mediaflow-events-*")
    pump(notifier(handler_env), lambda: deliveries(job_id)[0].State == "Refused")
    [record] = deliveries(job_id)
    assert record.Attempts == 1 and "owner-events does not match" in record.LastError
    assert "mediaflow-events-*" in record.LastError
    assert not sqs.receive_message(QueueUrl=owner, WaitTimeSeconds=0).get("Messages")
    [letter] = dead_letters()
    assert "does not match" in letter["MessageAttributes"]["reason"]["StringValue"]


def stack_queue_urls(stack) -> dict[str, str]:
    """Every SQS queue of the deployed stack: logical id -> URL."""
    resources = boto3.client("cloudformation").list_stack_resources(StackName=stack.name)["StackResourceSummaries"]
    return {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in resources if r["ResourceType"] == "AWS::SQS::Queue"}


def own_queue_rules(stack) -> dict[str, dict[str, str]]:
    """A message-queue rule naming each of the stack's queues, by name, by URL or by ARN in turn."""
    rules = {}
    for index, (logical, url) in enumerate(sorted(stack_queue_urls(stack).items())):
        name = url.rsplit("/", 1)[-1]
        spelling = [name, url, f"arn:aws:sqs:us-east-1:123456789012:{name}"][index % 3]
        rules[logical] = {"MqMode": "Queue", "MqRegion": "sh", "MqName": spelling}
    return rules


def test_rules_naming_the_stacks_own_queues_are_refused_when_set(bucket, stack, serve) -> None:
    rules = own_queue_rules(stack)
    assert {"NotifyQueue", "NotifyDeadLetterQueue", "MediaQueue", "MediaDeadLetterQueue", "UploadEventsQueue",
            "DispatchDeadLetterQueue"} <= set(rules)
    for logical, rule in rules.items():
        body = (f"<Request><Tag>Transcode</Tag><Input><Object>in/clip.mp4</Object></Input><Operation>"
                f"<TemplateId>{MP4_SD}</TemplateId><Output><Object>out.mp4</Object></Output></Operation>"
                f"<CallBackType>TDMQ</CallBackType><CallBackMqConfig><MqMode>Queue</MqMode>"
                f"<MqName>{rule['MqName']}</MqName></CallBackMqConfig></Request>").encode()
        answer = serve(cos_event("POST", f"http://127.0.0.1/buckets/{BUCKET}/jobs", body=body))
        assert answer["statusCode"] == 400, (logical, answer)
        assert "this stack's own queues" in xmltodict.parse(answer["body"])["Error"]["Message"], logical


def test_rules_naming_the_stacks_own_queues_are_refused_at_delivery_and_nothing_is_sent(
        bucket, stack, handler_env, monkeypatch) -> None:
    """A rule set before the stack knew all its queues (or by hand) is refused when it is delivered: the
    refusal is on the record, the event is dead-lettered once, and the queue gets nothing."""
    rules = own_queue_rules(stack)
    monkeypatch.setenv("STACK_QUEUES", "")
    jobs = {logical: end_job(CallBackType="TDMQ", CallBackMqConfig=rule) for logical, rule in rules.items()}
    own = boto3.client("lambda").get_function_configuration(
        FunctionName=stack.resources["NotifyFunction"])["Environment"]["Variables"]["STACK_QUEUES"]
    pump(notifier(handler_env, STACK_QUEUES=own), lambda: all(deliveries(j)[0].State == "Refused" for j in jobs.values()))
    for logical, job_id in jobs.items():
        [record] = deliveries(job_id)
        assert record.Attempts == 1 and "this stack's own queues" in record.LastError, (logical, record)
    letters = [json.loads(letter["Body"])["subject"] for letter in dead_letters_all()]
    assert sorted(letters) == sorted(jobs.values())  # each once
    sqs = boto3.client("sqs")
    for logical, url in stack_queue_urls(stack).items():
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"],
                                       VisibilityTimeout=0).get("Messages", [])
        assert not [m for m in messages if "mediaflow-event-id" in m.get("MessageAttributes", {})], logical


def dead_letters_all() -> list[dict[str, Any]]:
    """Every message of the notification dead-letter queue, each once, left there (visible again)."""
    sqs, url, seen = boto3.client("sqs"), os.environ["NOTIFY_DLQ_URL"], {}
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0,
                                       VisibilityTimeout=30).get("Messages", []):
        seen.update({m["MessageId"]: m for m in batch})
    for message in seen.values():
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
    return list(seen.values())


def test_redrive_skips_and_reports_what_is_not_a_notification_and_moves_the_rest(bucket, capsys) -> None:
    """A foreign body in the dead-letter queue (a claim ticket, any text) is reported and left there; the
    notifications around it are still moved, and the next redrive does not crash on it either."""
    sqs = boto3.client("sqs")
    dlq, queue = os.environ["NOTIFY_DLQ_URL"], os.environ["NOTIFY_QUEUE_URL"]
    rule = NotifyConfig(Url="http://127.0.0.1:9/callback")
    failed = [Notification(id=f"evt-{n}", bucket=BUCKET, event="TaskFinish", subject=f"j{n}", rule=rule,
                           content_type="application/xml", body="<Response/>", attempt=5) for n in range(3)]
    sqs.send_message(QueueUrl=dlq, MessageBody=failed[0].model_dump_json())
    foreign = [sqs.send_message(QueueUrl=dlq, MessageBody=body)["MessageId"]
               for body in (json.dumps({"queue_id": "p" + "0" * 32}), "not json at all")]
    for notification in failed[1:]:
        sqs.send_message(QueueUrl=dlq, MessageBody=notification.model_dump_json())

    assert cli.main(["notifications", "redrive", "--stack", "mediaflow"]) == 1
    out, err = capsys.readouterr()
    assert "redrove 3 notifications; skipped 2 messages" in out
    assert all(f"skipped message {message_id}: not a notification" in err for message_id in foreign)
    moved = [Notification.model_validate_json(m["Body"]) for m in sqs.receive_message(
        QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1, VisibilityTimeout=30)["Messages"]]
    assert sorted((n.id, n.attempt) for n in moved) == [("evt-0", 1), ("evt-1", 1), ("evt-2", 1)]
    assert all(deliveries(f"j{n}")[0].State == "Queued" for n in range(3))
    assert sorted(m["MessageId"] for m in dead_letters_all()) == sorted(foreign)  # left, and visible again

    assert cli.main(["notifications", "redrive", "--stack", "mediaflow"]) == 1  # again: reported, no crash
    assert "redrove 0 notifications; skipped 2 messages" in capsys.readouterr().out
