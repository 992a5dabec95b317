"""Which buckets the stack serves, and how a bucket it does not own comes to be served.

A bucket is served when the stack can read its uploads and write its outputs:

* the stack's own input and output buckets;
* the buckets named in the template's `ExternalBucketNames` (their access is in the stack's roles);
* buckets activated through the API (`POST /mediabucket`): the roles cannot grow with each new bucket
  without a redeploy, so the owner grants them with a bucket policy (same account: a resource policy
  is enough) and turns on EventBridge notifications, which the stack's rule already matches for every
  bucket. Activation answers the exact policy and setting, checks whether they are in place, and the
  bucket is served (`Active`) only once they are.

A job, workflow or task naming a bucket that is not served is refused at once, so nothing is accepted
that would never run (no upload event) or fail later with AccessDenied.
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from typing import Any, Literal

from botocore.exceptions import ClientError

from .. import aws, config
from ..exceptions import InvalidInputError
from ..models import Model
from ..persistence import store
from ..times import now

ACTIVATED = "MEDIABUCKETS"  # gsi1pk of every activation record, gsi1sk = the bucket name
STATEMENT_IDS = ("MediaflowRead", "MediaflowWrite", "MediaflowList")


class Activation(Model):
    BucketId: str
    Region: str
    CreateTime: datetime
    UpdateTime: datetime
    State: Literal["Active", "Pending"] = "Pending"
    Access: Literal["Granted", "Missing"] = "Missing"  # the bucket policy below is in place
    Events: Literal["On", "Off"] = "Off"  # the bucket sends its events to EventBridge


def _key(bucket: str) -> tuple[str, str]:
    return f"BUCKET#{bucket}", "ACTIVATION"


def _names(variable: str) -> list[str]:
    return [name.strip() for name in os.environ.get(variable, "").split(",") if name.strip()]


def own_buckets() -> list[str]:
    """The stack's buckets and the deploy-time external ones: served without activation."""
    return _names("INPUT_BUCKET") + _names("OUTPUT_BUCKET") + _names("EXTERNAL_BUCKETS")


def activation(bucket: str) -> Activation | None:
    found = store.get(*_key(bucket), Activation)
    return found[0] if found else None


def require_served(bucket: str, what: str = "Bucket", *, uploads: bool = False) -> None:
    """Refuse a request on a bucket the stack cannot read and write, saying what to do about it.
    `uploads`: the bucket must also tell the stack of its uploads (a workflow's bucket)."""
    if uploads and bucket in _names("OUTPUT_BUCKET"):
        raise InvalidInputError(f"{what}: uploads to the stack's output bucket {bucket} start nothing "
                                "(outputs must not trigger workflows); bind the workflow to the input bucket "
                                "or an activated one")
    if bucket in own_buckets():
        return
    record = activation(bucket)  # read once: served, or why not
    if record is not None and record.State == "Active":
        return
    if record is None:
        raise InvalidInputError(
            f"{what}: bucket {bucket} is not served by this stack. Activate it with POST /mediabucket "
            "(CreateMediaprocessBuckets) and apply the bucket policy and EventBridge setting it answers.")
    missing = [part for part, ok in (("the bucket policy", record.Access == "Granted"),
                                     ("EventBridge notifications", record.Events == "On")) if not ok]
    raise InvalidInputError(
        f"{what}: bucket {bucket} is activated but not yet served: {' and '.join(missing)} "
        "not in place. Apply what POST /mediabucket answered, then POST /mediabucket again.")


def bucket_policy(bucket: str) -> dict[str, Any]:
    """The statements that let the stack's roles read uploads and write outputs in `bucket`."""
    partition = os.environ.get("AWS_PARTITION", "aws")
    objects, whole = f"arn:{partition}:s3:::{bucket}/*", f"arn:{partition}:s3:::{bucket}"
    readers, writers = _names("BUCKET_READER_ROLES"), _names("BUCKET_WRITER_ROLES")
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "MediaflowRead", "Effect": "Allow", "Principal": {"AWS": readers},
         "Action": ["s3:GetObject", "s3:GetObjectVersion"], "Resource": objects},
        {"Sid": "MediaflowWrite", "Effect": "Allow", "Principal": {"AWS": writers},
         "Action": ["s3:PutObject", "s3:DeleteObject"], "Resource": objects},
        {"Sid": "MediaflowList", "Effect": "Allow", "Principal": {"AWS": writers},
         "Action": ["s3:ListBucket", "s3:GetBucketLocation"], "Resource": whole},
    ]}


def _normalised(statement: dict[str, Any]) -> str:
    def norm(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: norm(v) for k, v in sorted(value.items())}
        if isinstance(value, list):
            return sorted(norm(v) for v in value) if all(isinstance(v, str) for v in value) else [norm(v) for v in value]
        return value

    single = {k: ([v] if k in ("Action", "Resource") and isinstance(v, str) else v) for k, v in statement.items()}
    principal = single.get("Principal", {})
    if isinstance(principal, dict) and isinstance(principal.get("AWS"), str):
        single["Principal"] = {**principal, "AWS": [principal["AWS"]]}
    return json.dumps(norm(single), sort_keys=True)


def _access_granted(bucket: str) -> bool:
    """Every statement of `bucket_policy` is in the bucket's policy (the owner may keep others beside)."""
    try:
        text = aws.client("s3").get_bucket_policy(Bucket=bucket)["Policy"]
    except ClientError:
        return False  # no policy, or none we may read
    present = {_normalised(s) for s in json.loads(text).get("Statement", [])}
    return all(_normalised(s) in present for s in bucket_policy(bucket)["Statement"])


def _events_on(bucket: str) -> bool:
    """Whether the bucket sends its events to EventBridge; NoSuchBucket for a bucket that does not
    exist (the API's role may read any bucket's notification setting, and no more of it)."""
    try:
        configuration = aws.client("s3").get_bucket_notification_configuration(Bucket=bucket)
    except ClientError as error:
        if error.response["Error"].get("Code") == "NoSuchBucket":
            raise InvalidInputError(f"bucket {bucket} does not exist", code="NoSuchBucket") from error
        return False  # another owner's, or in another region: not ours to serve
    return "EventBridgeConfiguration" in configuration


def activate(bucket: str) -> Activation:
    """Record the bucket, check the policy and EventBridge setting, and say whether it is served now."""
    created = now()
    existing = activation(bucket)
    own = bucket in own_buckets()
    events = own or _events_on(bucket)  # first: it tells a bucket that does not exist
    access = own or _access_granted(bucket)
    record = Activation(BucketId=bucket, Region=config.region(),
                        CreateTime=existing.CreateTime if existing else created, UpdateTime=created,
                        State="Active" if access and events else "Pending",
                        Access="Granted" if access else "Missing", Events="On" if events else "Off")
    store.put(*_key(bucket), record, gsi1pk=ACTIVATED, gsi1sk=bucket)
    return record


def activated() -> list[Activation]:
    """Every activated bucket, by name."""
    return store.query_index(ACTIVATED, Activation)


def setup(bucket: str) -> dict[str, Any]:
    """What the owner applies to serve a bucket the stack does not own."""
    return {
        "BucketPolicy": json.dumps(bucket_policy(bucket), separators=(",", ":")),
        "EventBridge": (f"aws s3api put-bucket-notification-configuration --bucket {bucket} "
                        "--notification-configuration '{\"EventBridgeConfiguration\": {}}'"),
    }
