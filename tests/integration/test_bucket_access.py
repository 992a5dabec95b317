"""One access model for buckets: the stack's own and deploy-time external buckets are served; any other
bucket is served once activated (POST /mediabucket) with the bucket policy and EventBridge setting the
activation answers. A job, workflow or task on a bucket that is not served is refused at once."""

from __future__ import annotations

import json

import boto3
import pytest
import xmltodict
from mediaflow.control import buckets
from mediaflow.control.jobs import get_execution
from mediaflow.persistence.storage import MADE_BY
from mediaflow.pipeline.dispatch import S3Event, dispatch
from support import MP4_SD
from support import cos_event as event

pytestmark = pytest.mark.integration
OWNED = "owners-archive"  # an existing bucket of the account, not the stack's
HOST = f"https://{OWNED}.ci.us-east-1.myqcloud.com"


def answer(result: dict) -> dict:
    return xmltodict.parse(result["body"])


def job_request(bucket_output: str | None = None) -> bytes:
    output = f"<Bucket>{bucket_output}</Bucket>" if bucket_output else ""
    return (f"<Request><Tag>Transcode</Tag><Input><Object>in.mp4</Object></Input><Operation>"
            f"<TemplateId>{MP4_SD}</TemplateId><Output>{output}<Object>out.mp4</Object></Output>"
            "</Operation></Request>").encode()


def table_items(stack) -> int:
    """The table's records, less those of signatures accepted (no state: they only stop a signature's reuse)."""
    return boto3.client("dynamodb").scan(TableName=stack.outputs["TableName"], Select="COUNT",
                                         FilterExpression="NOT begins_with(pk, :signature)",
                                         ExpressionAttributeValues={":signature": {"S": "SIGNATURE#"}})["Count"]


def test_activation_answers_the_policy_and_serves_the_bucket_once_it_is_applied(stack, serve) -> None:
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=OWNED)
    pending = answer(serve(event("POST", f"{HOST}/mediabucket")))["Response"]["MediaBucket"]
    assert (pending["State"], pending["Access"], pending["Events"]) == ("Pending", "Missing", "Off")
    policy = json.loads(pending["Setup"]["BucketPolicy"])
    writers = next(s for s in policy["Statement"] if s["Sid"] == "MediaflowWrite")
    assert "s3:PutObject" in writers["Action"] and writers["Resource"] == f"arn:aws:s3:::{OWNED}/*"
    assert any(":role/" in arn and "UnitFunctionRole" in arn for arn in writers["Principal"]["AWS"])
    assert "EventBridgeConfiguration" in pending["Setup"]["EventBridge"]

    refused = serve(event("POST", f"{HOST}/jobs", body=job_request()))
    assert refused["statusCode"] == 400 and "not yet served" in answer(refused)["Error"]["Message"]

    s3.put_bucket_policy(Bucket=OWNED, Policy=pending["Setup"]["BucketPolicy"])  # what the owner does
    s3.put_bucket_notification_configuration(Bucket=OWNED, NotificationConfiguration={"EventBridgeConfiguration": {}})
    active = answer(serve(event("POST", f"{HOST}/mediabucket")))["Response"]["MediaBucket"]
    assert (active["State"], active["Access"], active["Events"]) == ("Active", "Granted", "On")
    assert "Setup" not in active

    listed = answer(serve(event("GET", "https://ci.us-east-1.myqcloud.com/mediabucket?bucketName=archive")))
    names = listed["Response"]["MediaBucketList"]
    names = [names] if isinstance(names, dict) else names
    assert [b["Name"] for b in names] == [OWNED]
    everything = answer(serve(event("GET", "https://ci.us-east-1.myqcloud.com/mediabucket?pageSize=100")))["Response"]
    assert int(everything["TotalCount"]) >= 3  # the stack's input and output buckets, and this one

    s3.put_object(Bucket=OWNED, Key="in.mp4", Body=b"x")
    created = serve(event("POST", f"{HOST}/jobs", body=job_request()))
    assert created["statusCode"] == 200, created["body"]


def test_a_policy_that_misses_a_statement_does_not_serve(stack, serve) -> None:
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=OWNED)
    policy = buckets.bucket_policy(OWNED)
    policy["Statement"] = [s for s in policy["Statement"] if s["Sid"] != "MediaflowWrite"]
    s3.put_bucket_policy(Bucket=OWNED, Policy=json.dumps(policy))
    s3.put_bucket_notification_configuration(Bucket=OWNED, NotificationConfiguration={"EventBridgeConfiguration": {}})
    record = answer(serve(event("POST", f"{HOST}/mediabucket")))["Response"]["MediaBucket"]
    assert (record["State"], record["Access"], record["Events"]) == ("Pending", "Missing", "On")


def test_activating_a_bucket_that_does_not_exist_is_refused(stack, serve) -> None:
    result = serve(event("POST", "https://no-such-bucket-here.ci.us-east-1.myqcloud.com/mediabucket"))
    assert result["statusCode"] == 400 and answer(result)["Error"]["Code"] == "NoSuchBucket"


def test_jobs_and_workflows_on_an_unserved_bucket_are_refused_and_write_nothing(stack, serve) -> None:
    boto3.client("s3").create_bucket(Bucket=OWNED)
    boto3.client("s3").put_object(Bucket=OWNED, Key="in.mp4", Body=b"x")
    before = table_items(stack)
    job = serve(event("POST", f"{HOST}/jobs", body=job_request()))
    assert job["statusCode"] == 400
    assert "not served by this stack" in answer(job)["Error"]["Message"]
    assert "POST /mediabucket" in answer(job)["Error"]["Message"]
    workflow = serve(event("POST", f"{HOST}/workflow", body=(
        "<Request><MediaWorkflow><Name>w</Name><State>Active</State><Topology><Dependencies><Start>End</Start>"
        "</Dependencies><Nodes><Start><Type>Start</Type><Input><ObjectPrefix>in/</ObjectPrefix></Input></Start>"
        "</Nodes></Topology></MediaWorkflow></Request>").encode()))
    assert workflow["statusCode"] == 400 and "not served" in answer(workflow)["Error"]["Message"]
    # an output to an unserved bucket, from a served one
    own = stack.outputs["InputBucketName"]
    boto3.client("s3").put_object(Bucket=own, Key="in.mp4", Body=b"x")
    elsewhere = serve(event("POST", f"https://{own}.ci.us-east-1.myqcloud.com/jobs", body=job_request(OWNED)))
    assert elsewhere["statusCode"] == 400 and "Operation.Output.Bucket" in answer(elsewhere)["Error"]["Message"]
    assert table_items(stack) == before


def test_outputs_written_into_a_workflow_bucket_start_nothing(stack, handler_env) -> None:
    from mediaflow.control import workflows
    from mediaflow.local.demo import DEMO_WORKFLOW

    own = stack.outputs["InputBucketName"]
    workflows.create_workflow(own, workflows.parse_workflow_xml(
        DEMO_WORKFLOW.format(prefix="", callback="http://127.0.0.1:9/cb")))
    s3 = boto3.client("s3")
    s3.put_object(Bucket=own, Key="made.mp4", Body=b"x", Metadata={MADE_BY: "output"})
    s3.put_object(Bucket=own, Key="uploaded.mp4", Body=b"x")
    record = {"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": own}, "object": {"key": "made.mp4", "eTag": "1"}}}
    uploaded = {**record, "s3": {"bucket": {"name": own}, "object": {"key": "uploaded.mp4", "eTag": "2"}}}
    runs = dispatch(S3Event.model_validate({"Records": [record, uploaded]}),
                    media_queue_url=stack.outputs["MediaQueueUrl"], output_bucket=stack.outputs["OutputBucketName"],
                    notify_queue_url=stack.outputs["NotifyQueueUrl"])
    assert len(runs) == 1
    assert get_execution(runs[0]).object == "uploaded.mp4"  # the user's upload runs; the output does not


def test_a_workflow_on_the_output_bucket_is_refused(stack) -> None:
    from mediaflow.control import workflows
    from mediaflow.exceptions import InvalidInputError
    from mediaflow.local.demo import DEMO_WORKFLOW

    with pytest.raises(InvalidInputError, match="start nothing"):
        workflows.create_workflow(stack.outputs["OutputBucketName"], workflows.parse_workflow_xml(
            DEMO_WORKFLOW.format(prefix="", callback="http://127.0.0.1:9/cb")))
