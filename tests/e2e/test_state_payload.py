"""A stage of the size that used to break Step Functions' 256 KiB state limit, run by Step Functions
on the local stack: two split transcodes of 100 pieces each, each with
three watermarks, in one workflow run. Unit specs and results stay in the work store, so the
largest state payload of the run, read from its history, stays a few KB whatever the stage holds.

The e2e stack cuts 5 s pieces (SplitSeconds=5): a 500 s clip (tiny, 5 frames a second, a key frame
every second) gives 100 pieces a job, 204 units in all, each encoding 25 frames."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
from mediaflow.control import workflows
from mediaflow.control.jobs import get_execution, jobs_of
from mediaflow.local.payloads import STATE_LIMIT, history, largest_payload
from mediaflow.media import probe
from mediaflow.pipeline import dispatch

pytestmark = [pytest.mark.e2e, pytest.mark.slow]  # about 100 s: run by make test-slow
PREFIX = "statesize/"
SECONDS = 500

MARKS = "".join(
    f"<Watermark><Type>Text</Type><Pos>{pos}</Pos><Dx>4</Dx><Dy>4</Dy>"
    f"<Text><Text>mark {n}</Text><FontSize>12</FontSize><FontColor>0xFFFFFF</FontColor></Text></Watermark>"
    for n, pos in enumerate(("TopLeft", "TopRight", "BottomLeft")))


def node(name: str, crf: int) -> str:
    return (f"<{name}><Type>Transcode</Type><Operation>"
            f"<Transcode><Container><Format>mp4</Format></Container>"
            f"<Video><Codec>H.264</Codec><Crf>{crf}</Crf><Preset>ultrafast</Preset></Video>"
            f"<Audio><Codec>aac</Codec><Bitrate>64</Bitrate></Audio></Transcode>{MARKS}"
            f"<Output><Object>${{InputPath}}/out/${{InputName}}_{name}.${{ext}}</Object></Output>"
            f"</Operation></{name}>")


WORKFLOW = f"""<Request><MediaWorkflow>
  <Name>state-size</Name><State>Active</State>
  <Topology>
    <Dependencies><Start>Transcode_A,Transcode_B</Start><Transcode_A>End</Transcode_A><Transcode_B>End</Transcode_B></Dependencies>
    <Nodes>
      <Start><Type>Start</Type><Input><ObjectPrefix>{PREFIX}</ObjectPrefix>
        <ExtFilter><State>On</State><Video>true</Video></ExtFilter></Input></Start>
      {node("Transcode_A", 30)}
      {node("Transcode_B", 34)}
    </Nodes>
  </Topology>
</MediaWorkflow></Request>"""


@pytest.fixture(scope="module")
def long_clip(local_stack, tmp_path_factory) -> str:
    """The clip, in the input bucket (before any workflow watches PREFIX, so that only the test runs it)."""
    path = tmp_path_factory.mktemp("statesize") / "clip.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc2=size=128x72:rate=5:duration={SECONDS}",
                    "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=22050:duration={SECONDS}",
                    "-c:v", "libx264", "-preset", "ultrafast", "-g", "5", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "32k",
                    "-shortest", str(path)], check=True)
    key = f"{PREFIX}clip.mp4"
    local_stack.client("s3").upload_file(str(path), local_stack.outputs["InputBucketName"], key)
    return key


def wait_for_execution(sfn, arn: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            status = sfn.describe_execution(executionArn=arn)["status"]
        except sfn.exceptions.ExecutionDoesNotExist:
            status = "NOT STARTED"
        if status not in ("RUNNING", "NOT STARTED"):
            return status
        time.sleep(2)
    return "TIMED OUT (test)"


def test_two_split_transcodes_of_100_pieces_with_three_watermarks_stay_far_below_the_state_limit(
        local_stack, long_clip, tmp_path: Path) -> None:
    bucket, out_bucket = local_stack.outputs["InputBucketName"], local_stack.outputs["OutputBucketName"]
    workflow = workflows.create_workflow(bucket, workflows.parse_workflow_xml(WORKFLOW))
    try:
        run_id = dispatch.trigger(workflow, long_clip, media_queue_url=local_stack.outputs["MediaQueueUrl"],
                                  output_bucket=out_bucket)
        sfn = local_stack.client("stepfunctions")
        arn = local_stack.outputs["StateMachineArn"].replace(":stateMachine:", ":execution:") + f":{run_id}"
        started = time.monotonic()
        status = wait_for_execution(sfn, arn, timeout=900)
        took = time.monotonic() - started
    finally:
        workflows.delete_workflow(bucket, workflow.WorkflowId)

    execution = get_execution(run_id)
    jobs = jobs_of(execution)
    assert status == "SUCCEEDED", (status, [(j.State, j.Code, j.Message) for j in jobs])
    assert [j.State for j in jobs] == ["Success", "Success"], [(j.State, j.Message) for j in jobs]
    assert execution.stage_units[0] == 2 * (100 + 2)  # per job: 100 pieces, the audio, the join
    for job in jobs:
        key = job.Operation.MediaResult["OutputFile"]["ObjectName"][0]
        local = tmp_path / key.replace("/", "_")
        local_stack.client("s3").download_file(out_bucket, key, str(local))
        assert abs(probe(str(local)).duration - SECONDS) <= 0.5

    largest, events = largest_payload(sfn, arn), len(history(sfn, arn))
    units = execution.stage_units[0]
    print(f"\n{units} units in one stage ran in {took:.0f} s; largest state payload: {largest}; "
          f"{events} history events ({events / units:.1f} a unit; AWS keeps at most 25,000)")
    assert largest.size < STATE_LIMIT / 16  # the old design needed about 400 KB here
