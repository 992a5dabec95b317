"""S3 transfers for task units: downloads into a work folder, uploads with an MD5 of the bytes."""

from __future__ import annotations

import hashlib
import os
import posixpath
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

from boto3.exceptions import S3UploadFailedError
from botocore.exceptions import ClientError, ParamValidationError

from .. import aws, config
from ..exceptions import DownloadError, InvalidInputError, UploadError
from ..models import OutputObject

# User metadata on every object the stack writes (outputs, imported URL inputs): the Dispatcher never
# starts a workflow on such an object, so outputs written into a workflow's own bucket cannot loop.
MADE_BY = "mediaflow-made"
# Intermediate objects (split pieces, speech chunks, unit specs and results) under the output bucket.
WORK_PREFIX = "mediaflow-work"
SAFE_EXTENSION = re.compile(r"^\.[a-z0-9]{1,16}$")


ASSETS = "mediaflow-assets/"  # what the stack keeps for its own use in its output bucket (watermark images)


def put_asset(name: str, body: bytes) -> str:
    """Keep a file the stack itself uses (never a job's output) in its output bucket; its s3:// URL."""
    bucket, key = config.setting("OUTPUT_BUCKET"), ASSETS + name
    aws.client("s3").put_object(Bucket=bucket, Key=key, Body=body, Metadata={MADE_BY: "asset"})
    return f"s3://{bucket}/{key}"


def asset_key(url: str) -> str | None:
    """The key of one of the stack's assets named by `url`, None if it names none."""
    parts = urlsplit(url.strip())
    key = parts.path.lstrip("/")
    own = os.environ.get("OUTPUT_BUCKET")
    return key if parts.scheme == "s3" and own and parts.netloc == own and key.startswith(ASSETS) else None


def object_key(url: str, bucket: str) -> str:
    """The key of an object of `bucket` named by a key, an s3:// URL, or an https URL in virtual-host
    (`<bucket>.cos.<region>.myqcloud.com/<key>`, `<bucket>.s3.<region>.amazonaws.com/<key>`) or path style
    (`<host>/<bucket>/<key>`). Anything that names another bucket is refused: a job reads its own bucket only."""
    parts = urlsplit(url.strip())
    if not parts.scheme:
        key = url.strip().lstrip("/")
    elif parts.scheme == "s3" and parts.netloc == bucket:
        key = parts.path.lstrip("/")
    elif parts.scheme in ("http", "https") and parts.hostname and parts.hostname.startswith(bucket + "."):
        key = unquote(parts.path).lstrip("/")
    elif parts.scheme in ("http", "https") and unquote(parts.path).startswith(f"/{bucket}/"):
        key = unquote(parts.path)[len(bucket) + 2:]
    else:
        raise InvalidInputError(f"{url} is not an object of bucket {bucket}")
    if not key or key.endswith("/"):
        raise InvalidInputError(f"{url} names no object")
    return key


def download(bucket: str, key: str, workdir: Path, name: str = "input") -> Path:
    """The object in `workdir` as `name` and the key's extension (kept only if it is letters and
    digits: a key may hold any character, a NUL byte included, and a file name may not)."""
    extension = posixpath.splitext(key)[1].lower()
    target = workdir / (name + (extension if SAFE_EXTENSION.match(extension) else ""))
    try:
        aws.client("s3").download_file(bucket, key, str(target))
    except ClientError as error:
        reason = error.response["Error"].get("Message") or error.response["Error"].get("Code")
        raise DownloadError(f"cannot read s3://{bucket}/{key}: {reason}") from error
    return target


def md5_of(path: Path) -> str:
    digest = hashlib.md5()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def upload(path: Path, bucket: str, key: str, content_type: str | None = None) -> OutputObject:
    """Write an output. It carries the marker that keeps it from triggering workflows of its bucket."""
    extra: dict[str, object] = {"Metadata": {MADE_BY: "output"}}
    if content_type:
        extra["ContentType"] = content_type
    try:
        aws.client("s3").upload_file(str(path), bucket, key, ExtraArgs=extra)
    except (ClientError, S3UploadFailedError) as error:
        raise UploadError(f"cannot write s3://{bucket}/{key}: {_reason(error)}") from error
    return OutputObject(bucket=bucket, key=key, size=path.stat().st_size, md5=md5_of(path))


def _reason(error: Exception) -> str:
    """AccessDenied says what to grant: the bucket is not one the stack may write."""
    text = str(error)
    if "AccessDenied" in text or "Forbidden" in text or "403" in text:
        return (f"access denied ({text}). The stack may write only its own buckets and the ones activated "
                "through POST /mediabucket with the bucket policy it answers")
    return text


def delete(objects: list[OutputObject]) -> None:
    """Remove what a failed unit had already written, so nothing half-done stays in the output bucket."""
    for obj in objects:
        aws.client("s3").delete_object(Bucket=obj.bucket, Key=obj.key)


def object_exists(bucket: str, key: str) -> bool:
    try:
        aws.client("s3").head_object(Bucket=bucket, Key=key)
        return True
    except (ClientError, ParamValidationError):  # missing, or a name no bucket can have
        return False
