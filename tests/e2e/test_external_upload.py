"""An upload to a bucket outside the stack runs its workflow on the local stack: S3 -> EventBridge ->
UploadEventsQueue -> (the runtime's poller) Dispatcher -> ... -> callback. Two ways in: a bucket listed
in ExternalBucketNames (the local deployer turns its EventBridge notifications on, as its owner would
on AWS), and an existing bucket activated through the API after the deploy, whose owner applies the
bucket policy and EventBridge setting activation answers."""

from __future__ import annotations

import json
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from mediaflow.control import workflows
from mediaflow.local.demo import CallbackReceiver, is_workflow_finish
from qcloud_cos import CosConfig, CosS3Client
from qcloud_cos.cos_exception import CosServiceError

pytestmark = pytest.mark.e2e

SNAPSHOTS = """<Request><MediaWorkflow>
  <Name>external-snapshots</Name><State>Active</State>
  <Topology>
    <Dependencies><Start>Snapshot_1</Start><Snapshot_1>End</Snapshot_1></Dependencies>
    <Nodes>
      <Start><Type>Start</Type><Input>
        <ObjectPrefix>ext/</ObjectPrefix>
        <NotifyConfig><Type>Url</Type><Url>{callback}</Url><Event>WorkflowFinish</Event></NotifyConfig>
      </Input></Start>
      <Snapshot_1><Type>Snapshot</Type><Operation>
        <Snapshot><Mode>Average</Mode><Count>2</Count><Width>320</Width></Snapshot>
        <Output><Object>${{InputPath}}/${{InputName}}_snap_${{Number}}.jpg</Object></Output>
      </Operation></Snapshot_1>
    </Nodes>
  </Topology>
</MediaWorkflow></Request>"""


@pytest.fixture
def receiver():
    server = CallbackReceiver()
    yield server
    server.stop()


def test_upload_to_external_bucket_runs_its_workflow(local_stack, receiver, sample_video: Path) -> None:
    workflows.create_workflow(local_stack.external_bucket, workflows.parse_workflow_xml(SNAPSHOTS.format(callback=receiver.url)))
    local_stack.client("s3").upload_file(str(sample_video), local_stack.external_bucket, "ext/my clip.mp4")

    assert receiver.wait_for(lambda received: any(map(is_workflow_finish, received)), timeout=120), \
        "no WorkflowFinish callback for the external bucket's upload"
    body = next(c["body"] for c in receiver.received if is_workflow_finish(c)).decode()
    assert "<State>Success</State>" in body and "ext/my clip.mp4" in body
    outputs = local_stack.client("s3").list_objects_v2(Bucket=local_stack.outputs["OutputBucketName"], Prefix="ext/")
    snapshots = [o["Key"] for o in outputs.get("Contents", []) if o["Key"].startswith("ext/my clip_snap_")]
    assert len(snapshots) == 2


ACTIVATED_BUCKET = "e2e-activated-uploads"  # a bucket that exists before, and outside, the stack's template
LOOPING = {  # its outputs land under the very prefix whose uploads start it
    "Name": "activated-snapshots", "State": "Active",
    "Topology": {
        "Dependencies": {"Start": "Snapshot_1", "Snapshot_1": "End"},
        "Nodes": {
            "Start": {"Type": "Start", "Input": {"ObjectPrefix": "act/", "NotifyConfig": {
                "Type": "Url", "Url": "{callback}", "Event": "WorkflowFinish"}}},
            "Snapshot_1": {"Type": "Snapshot", "Operation": {
                "Snapshot": {"Mode": "Average", "Count": "2", "Width": "320"},
                "Output": {"Bucket": ACTIVATED_BUCKET, "Object": "act/${InputName}_snap_${Number}.jpg"}}},
        }}}


def cos_client(local_stack, **config: str) -> CosS3Client:
    api = urlsplit(local_stack.api_url)
    return CosS3Client(CosConfig(Region="us-east-1", SecretId=local_stack.secret_id, SecretKey=local_stack.secret_key,
                                 IP=api.hostname, Port=api.port, Scheme="http", **config))


@pytest.fixture
def cos(local_stack) -> CosS3Client:
    return cos_client(local_stack)


@pytest.fixture
def opener(local_stack) -> CosS3Client:
    """For ci_open_asr_bucket, which (unlike the other calls) names no bucket in the Host header the SDK
    sends to an IP endpoint: the bucket's CI domain, as the request would reach Tencent."""
    return cos_client(local_stack, Domain=f"{ACTIVATED_BUCKET}.ci.us-east-1.myqcloud.com")


def test_an_activated_existing_bucket_runs_its_workflow_with_no_redeploy_and_its_outputs_start_nothing(
        local_stack, receiver, cos, opener, sample_video: Path) -> None:
    s3 = local_stack.client("s3")
    s3.create_bucket(Bucket=ACTIVATED_BUCKET)
    workflow = {"MediaWorkflow": json.loads(json.dumps(LOOPING).replace("{callback}", receiver.url))}
    with pytest.raises(CosServiceError) as refused:  # not served yet: refused, not accepted to never run
        cos.ci_create_workflow(Bucket=ACTIVATED_BUCKET, Body=workflow)
    assert refused.value.get_status_code() == 400 and "POST /mediabucket" in refused.value.get_error_msg()

    _, pending = opener.ci_open_asr_bucket(Bucket=ACTIVATED_BUCKET)
    pending = pending["MediaBucket"]
    assert (pending["State"], pending["Access"], pending["Events"]) == ("Pending", "Missing", "Off")
    # The owner applies what activation answered, with the owner's own credentials; no redeploy.
    s3.put_bucket_policy(Bucket=ACTIVATED_BUCKET, Policy=pending["Setup"]["BucketPolicy"])
    s3.put_bucket_notification_configuration(Bucket=ACTIVATED_BUCKET,
                                             NotificationConfiguration={"EventBridgeConfiguration": {}})
    # The SDK signs by the second: the same call signed within the same second is the same write, answered
    # as the first was (faces/replay.py). An owner re-activating a second later makes a new request.
    time.sleep(1.1)
    _, active = opener.ci_open_asr_bucket(Bucket=ACTIVATED_BUCKET)
    assert active["MediaBucket"]["State"] == "Active"
    listed = cos.ci_get_media_bucket(BucketName="e2e-activated")
    assert [b["Name"] for b in listed["MediaBucketList"]] == [ACTIVATED_BUCKET]

    created = cos.ci_create_workflow(Bucket=ACTIVATED_BUCKET, Body=workflow)["MediaWorkflow"]
    s3.upload_file(str(sample_video), ACTIVATED_BUCKET, "act/clip.mp4")
    assert receiver.wait_for(lambda received: any(map(is_workflow_finish, received)), timeout=120), \
        "no WorkflowFinish callback for the activated bucket's upload"
    body = next(c["body"] for c in receiver.received if is_workflow_finish(c)).decode()
    assert "<State>Success</State>" in body and "act/clip.mp4" in body
    # The Unit wrote into the bucket through its policy (the local runtime checks it as IAM does) ...
    written = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=ACTIVATED_BUCKET, Prefix="act/")["Contents"])
    assert written == ["act/clip.mp4", "act/clip_snap_0.jpg", "act/clip_snap_1.jpg"]
    # ... and those outputs, under the workflow's own prefix, started no second run.
    time.sleep(10)  # the outputs' events have long passed through EventBridge and the Dispatcher by now
    runs = cos.ci_list_workflowexecution(Bucket=ACTIVATED_BUCKET, WorkflowId=created["WorkflowId"])
    executions = runs["WorkflowExecutionList"]
    assert len(executions if isinstance(executions, list) else [executions]) == 1
    assert sum(map(is_workflow_finish, receiver.received)) == 1
