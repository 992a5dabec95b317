"""Keys that open only their own doors: every operation of the published contract, and every MPS action,
is refused to a key lacking the permission it needs (403, the permission named, nothing written); a key
limited to some buckets sees and reaches only those."""

from __future__ import annotations

import json
import re
from typing import Any

import boto3
import pytest
import xmltodict

from mediaflow.faces import auth
from mediaflow.faces.app import openapi_document
from mediaflow.faces.keys import ACTIONS, action_of
from mediaflow.faces.mps.routes import ACTIONS as MPS_ACTIONS
from mediaflow.persistence import store
from support import API_KEY_ID, API_SECRET, cos_event, serve_bucket, tc3_event

pytestmark = pytest.mark.integration
BUCKET = "team-a-media"
HOST = f"{BUCKET}.ci.us-east-1.myqcloud.com"
PROCESS_MEDIA = {"InputInfo": {"Type": "COS", "CosInputInfo": {"Bucket": BUCKET, "Region": "us-east-1",
                                                               "Object": "/in/clip.mp4"}},
                 "MediaProcessTask": {"TranscodeTaskSet": [{"Definition": 100010}]}}


@pytest.fixture
def with_policy(serve, stack):
    """Give the tests' key a policy: `with_policy(actions=[...], buckets=[...])`."""
    def install(actions: list[str] | None = None, buckets: list[str] | None = None) -> None:
        entry: dict[str, Any] = {"SecretId": API_KEY_ID, "SecretKey": API_SECRET}
        entry |= {"Actions": actions} if actions is not None else {}
        entry |= {"Buckets": buckets} if buckets is not None else {}
        boto3.client("secretsmanager").put_secret_value(SecretId=stack.outputs["AccessKeysSecretArn"],
                                                        SecretString=json.dumps(entry))
        auth.reset()
    return install


def operations() -> list[tuple[str, str]]:
    """(method, path) of every operation the OpenAPI document publishes, path parameters filled in."""
    paths = json.loads(openapi_document())["paths"]
    return sorted((method.upper(), re.sub(r"\{[^}]+\}", "x1", path))
                  for path, methods in paths.items() for method in methods if path != "/openapi.json")


def snapshot() -> list[tuple[str, str]]:
    return sorted((item["pk"], item["sk"]) for item in store.table().scan()["Items"])


def test_every_operation_is_refused_to_a_key_lacking_its_permission(serve, with_policy, sample_video) -> None:
    serve_bucket(BUCKET)
    boto3.client("s3").upload_file(str(sample_video), BUCKET, "in/clip.mp4")
    before, walked = snapshot(), 0
    for method, path in operations():
        if path.startswith("/#"):
            continue  # an MPS action (POST / with X-TC-Action): walked below
        needed = action_of(method, path)
        with_policy(actions=[a for a in ACTIONS if a != needed])
        answer = serve(cos_event(method, f"http://{HOST}{path}", body=b"<Request/>" if method != "GET" else b""))
        error = xmltodict.parse(answer["body"])["Error"]
        assert answer["statusCode"] == 403 and error["Code"] == "AccessDenied", (method, path, answer["body"])
        assert f"lacks the permission {needed}" in error["Message"], (method, path)
        walked += 1
    published = [path[2:] for _, path in operations() if path.startswith("/#")]
    assert sorted(published) == sorted(MPS_ACTIONS)  # every action the face answers is published
    for name in published:
        needed = action_of("POST", "/", name)
        with_policy(actions=[a for a in ACTIONS if a != needed])
        answer = json.loads(serve(tc3_event(name, PROCESS_MEDIA if name == "ProcessMedia" else {}))["body"])
        assert answer["Response"]["Error"]["Code"] == "AuthFailure.UnauthorizedOperation", (name, answer)
        walked += 1
    assert walked == len(operations()) >= 41
    assert snapshot() == before  # nothing written by any refused request


def test_a_key_reaches_and_sees_only_its_buckets(serve, with_policy, sample_video, stack) -> None:
    other = "team-b-media"
    for bucket in (BUCKET, other):
        serve_bucket(bucket)
        boto3.client("s3").upload_file(str(sample_video), bucket, "in/clip.mp4")
    with_policy()  # the owner's key: both buckets, every action
    theirs = json.loads(serve(tc3_event("ProcessMedia", {**PROCESS_MEDIA, "InputInfo": {"Type": "COS", "CosInputInfo": {
        "Bucket": other, "Region": "us-east-1", "Object": "/in/clip.mp4"}}}))["body"])["Response"]["TaskId"]

    with_policy(buckets=["team-a-*"], actions=["read", "submit"])
    ours = json.loads(serve(tc3_event("ProcessMedia", PROCESS_MEDIA))["body"])["Response"]
    assert "TaskId" in ours, ours
    refused = json.loads(serve(tc3_event("ProcessMedia", {**PROCESS_MEDIA, "OutputStorage": {
        "Type": "COS", "CosOutputStorage": {"Bucket": other, "Region": "us-east-1"}}}))["body"])["Response"]
    assert refused["Error"]["Code"] == "AuthFailure.UnauthorizedOperation" and other in refused["Error"]["Message"]
    listed = json.loads(serve(tc3_event("DescribeTasks", {}))["body"])["Response"]["TaskSet"]
    assert [task["TaskId"] for task in listed] == [ours["TaskId"]]
    hidden = json.loads(serve(tc3_event("DescribeTaskDetail", {"TaskId": theirs}))["body"])["Response"]
    assert hidden["Error"]["Code"] == "ResourceNotFound.TaskNotExist"
    pulled = json.loads(serve(tc3_event("PullEvents", {"Bucket": other}))["body"])["Response"]
    assert pulled["Error"]["Code"] == "AuthFailure.UnauthorizedOperation"

    cos_other = serve(cos_event("GET", f"http://{other}.ci.us-east-1.myqcloud.com/jobs?tag=Transcode"))
    assert cos_other["statusCode"] == 403 and f"read on bucket {other}" in cos_other["body"]
    buckets = xmltodict.parse(serve(cos_event("GET", f"http://{HOST}/mediabucket"))["body"])["Response"]
    names = [b["Name"] for b in (buckets["MediaBucketList"] if isinstance(buckets["MediaBucketList"], list)
                                 else [buckets["MediaBucketList"]])]
    assert names == [BUCKET]
