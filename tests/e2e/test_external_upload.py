"""An upload to a bucket outside the stack runs its workflow on the local stack: S3 -> EventBridge ->
UploadEventsQueue -> (the runtime's poller) Dispatcher -> ... -> callback. The local deployer created
the bucket listed in ExternalBucketNames and turned its EventBridge notifications on, as its owner
would on AWS."""

from __future__ import annotations

from pathlib import Path

import pytest

from mediaflow import workflows
from mediaflow.local.demo import CallbackReceiver, is_workflow_finish

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
