"""EventBridge "Object Created" events (uploads to buckets outside the stack) as S3 event records.

Buckets outside the stack cannot be given an S3 notification by the stack; they send their events to
EventBridge, and a rule puts those of the external buckets on the Dispatcher's queue. This module turns
such an event into the `S3Record` that `dispatch` already handles, so both paths start the same runs
(and derive the same idempotent ids).
"""

from __future__ import annotations

from urllib.parse import quote_plus

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator

from .dispatch import S3Bucket, S3Entity, S3Object, S3Record

OBJECT_CREATED = "Object Created"
# EventBridge `detail.reason` -> the S3 notification's eventName.
EVENT_NAMES = {
    "PutObject": "ObjectCreated:Put",
    "POST Object": "ObjectCreated:Post",
    "PostObject": "ObjectCreated:Post",
    "CopyObject": "ObjectCreated:Copy",
    "CompleteMultipartUpload": "ObjectCreated:CompleteMultipartUpload",
}


class CreatedObject(BaseModel):
    key: str  # not URL-encoded, unlike in S3 notifications
    size: int | None = None
    etag: str | None = Field(None, validation_alias=AliasChoices("etag", "eTag"))
    version_id: str | None = Field(None, validation_alias="version-id")
    sequencer: str | None = None

    @field_validator("version_id")
    @classmethod
    def _unversioned(cls, value: str | None) -> str | None:
        # An unversioned bucket's objects have the version "null" (moto sends it; S3 leaves it out).
        return None if value == "null" else value


class CreatedDetail(BaseModel):
    bucket: S3Bucket
    object: CreatedObject
    reason: str = "PutObject"


class ObjectCreatedEvent(BaseModel):
    """The fields of an EventBridge S3 event that dispatch needs."""

    model_config = ConfigDict(populate_by_name=True)

    detail_type: str = Field(alias="detail-type")
    source: str
    region: str | None = None
    detail: CreatedDetail


def s3_record(event: ObjectCreatedEvent) -> S3Record | None:
    """The S3 notification record of an "Object Created" event; None for any other event."""
    if event.source != "aws.s3" or event.detail_type != OBJECT_CREATED:
        return None
    created = event.detail.object
    return S3Record(
        eventName=EVENT_NAMES.get(event.detail.reason, "ObjectCreated:*"),
        awsRegion=event.region,
        s3=S3Entity(
            bucket=event.detail.bucket,
            # S3Record.key unquotes the key as S3 notifications need; quote it the way S3 does.
            object=S3Object(key=quote_plus(created.key, safe="/"), size=created.size, eTag=created.etag,
                            versionId=created.version_id, sequencer=created.sequencer),
        ),
    )


def parse(body: str) -> S3Record | None:
    """An SQS message body holding an EventBridge event -> its S3 record (None: not an upload)."""
    return s3_record(ObjectCreatedEvent.model_validate_json(body))
