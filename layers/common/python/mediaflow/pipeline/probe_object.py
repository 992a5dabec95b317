"""The probe of one stored object, answered at once (MPS's DescribeMediaMetaData).

ffmpeg is not in the API function (its package stays small); the Probe function has it. The API
function invokes it (PROBE_FUNCTION) and waits: the Probe function gives ffmpeg a presigned URL, so
that ffmpeg reads only the parts of the object it needs (its header, an index at its end), never the
whole file, and answers within API Gateway's 29 s. With no stack (tests, the CLI in one process),
PROBE_FUNCTION is unset and this process downloads the object and probes it itself.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from .. import aws
from ..exceptions import DownloadError, MediaError, MediaflowError, code_for
from ..media.probe import SNIFF_BYTES, probe_input, probe_url
from ..persistence import storage

PROBE_SECONDS = 20  # ffmpeg's time, within the Probe function's 25 s and API Gateway's 29 s
URL_SECONDS = 60  # how long the presigned URL is good for


def probe_object(bucket: str, key: str) -> dict[str, Any]:
    """The object's MediaInfo (media.probe's shape, as a dict); MediaError if it is no media file."""
    function = os.environ.get("PROBE_FUNCTION")
    if function is None:
        with tempfile.TemporaryDirectory() as workdir:
            return probe_input(str(storage.download(bucket, key, Path(workdir))), timeout=PROBE_SECONDS).model_dump()
    answer = aws.client("lambda").invoke(FunctionName=function, Payload=json.dumps({"bucket": bucket, "key": key}).encode())
    reply = json.loads(answer["Payload"].read() or b"null")
    if answer.get("FunctionError"):
        error = reply if isinstance(reply, dict) else {}
        kind = error.get("errorType", "")
        message = error.get("errorMessage") or "the object could not be probed"
        if kind in ("MediaError", "DownloadError", "LimitExceededError"):
            raise MediaError(message, code=code_for(kind))
        raise MediaflowError(f"the object could not be probed: {message}")
    return reply


def probe_where_it_is(bucket: str, key: str) -> dict[str, Any]:
    """The Probe function's work: the object probed by a presigned URL."""
    s3 = aws.client("s3")
    try:
        size = s3.head_object(Bucket=bucket, Key=key)["ContentLength"]
        head = s3.get_object(Bucket=bucket, Key=key, Range=f"bytes=0-{SNIFF_BYTES - 1}")["Body"].read() if size else b""
    except ClientError as error:
        raise DownloadError(f"object {key} of bucket {bucket} cannot be read: "
                            f"{error.response.get('Error', {}).get('Code', error)}") from None
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=URL_SECONDS)
    return probe_url(url, size=size, head=head, name=key, timeout=PROBE_SECONDS).model_dump()
