"""A task's URL input, fetched into its bucket by Plan before the task is planned (ProcessMedia's
UrlInputInfo): public addresses only (connected to as checked, not looked up again), no redirects
followed, at most MAX_IMPORT_BYTES."""

from __future__ import annotations

from typing import Any

import requests
from boto3.exceptions import S3UploadFailedError
from botocore.exceptions import ClientError

from .. import aws
from ..exceptions import DownloadError, UploadError
from ..models import Execution
from ..notify.pinning import checked_session
from ..notify.urls import loopback_allowed
from ..persistence.storage import MADE_BY, object_exists

MAX_IMPORT_BYTES = 5 * 1024**3
IMPORT_TIMEOUT = (5, 60)  # connect, read (seconds)


def import_input(execution: Execution) -> None:
    """Fetch a task's URL input into its bucket, once, before it is planned. Only public addresses
    are fetched, without following redirects, and at most MAX_IMPORT_BYTES."""
    url = (execution.task or {}).get("import_url")
    if not url or object_exists(execution.bucket, execution.object or ""):
        return
    session = checked_session(url, allow_loopback=loopback_allowed())
    try:
        with session, session.get(url, stream=True, timeout=IMPORT_TIMEOUT, allow_redirects=False) as response:
            if response.status_code != 200:
                raise DownloadError(f"{url} answered HTTP {response.status_code}")
            size = int(response.headers.get("Content-Length") or 0)
            if size > MAX_IMPORT_BYTES:
                raise DownloadError(f"{url} is {size} bytes, more than the {MAX_IMPORT_BYTES} a URL input may be")
            response.raw.decode_content = True
            aws.client("s3").upload_fileobj(_Capped(response.raw, MAX_IMPORT_BYTES), execution.bucket, execution.object,
                                            ExtraArgs={"ContentType": response.headers.get("Content-Type") or
                                                       "application/octet-stream", "Metadata": {MADE_BY: "import"}})
    except requests.RequestException as error:
        raise DownloadError(f"{url} could not be fetched: {error}") from error
    except (ClientError, S3UploadFailedError) as error:
        raise UploadError(f"{url} could not be imported into s3://{execution.bucket}/{execution.object}: {error}") from error


class _Capped:
    """A file-like reader that refuses to read past a limit (a server may lie about its length)."""

    def __init__(self, raw: Any, limit: int):
        self.raw, self.left = raw, limit

    def read(self, size: int = -1) -> bytes:
        chunk = self.raw.read(size if size > 0 else 1024 * 1024)
        self.left -= len(chunk)
        if self.left < 0:
            raise DownloadError(f"the URL input is larger than {MAX_IMPORT_BYTES} bytes")
        return chunk
