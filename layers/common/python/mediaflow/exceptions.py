"""Domain errors. The state machine retries on `TransientError` by name; the others fail the job.

Each carries a Tencent-style `code` and a human `message` that end up in JobsDetail Code/Message.
"""


class MediaflowError(Exception):
    code = "InternalError"

    def __init__(self, message: str, code: str | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code


class InvalidInputError(MediaflowError):
    """The request or event is malformed; refused before anything is written."""

    code = "InvalidArgument"


class NotFoundError(MediaflowError):
    code = "ResourceNotFound"


class MediaError(MediaflowError):
    """The media file could not be processed (corrupt, unsupported, hostile, too long)."""

    code = "InvalidMedia"


class TransientError(MediaflowError):
    """A failure worth retrying (throttling, a dependency briefly unavailable)."""

    code = "TransientError"


class DeliveryError(MediaflowError):
    """A notification could not be delivered this time; it will be retried."""

    code = "DeliveryFailed"


class UnsafeUrlError(MediaflowError):
    """A user-supplied URL points somewhere the service must not reach."""

    code = "InvalidArgument"
