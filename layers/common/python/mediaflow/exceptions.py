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


class AccessDeniedError(MediaflowError):
    """The request is unsigned, wrongly signed or expired; nothing it asked for is done."""

    code = "AccessDenied"


class MediaError(MediaflowError):
    """The media file could not be processed (corrupt, unsupported, hostile, too long)."""

    code = "InvalidMedia"


class LimitExceededError(MediaError):
    """The input, or what a job would make of it, is over a limit of its queue (MaxInputSize, ...)."""

    code = "InvalidInput.LimitExceeded"


class DownloadError(MediaError):
    """The input object could not be read."""

    code = "ResourceDownloadFailed"


class UploadError(MediaflowError):
    """An output could not be written (most often: a bucket the stack may not write)."""

    code = "ResourceUploadFailed"


class TransientError(MediaflowError):
    """A failure worth retrying (throttling, a dependency briefly unavailable)."""

    code = "TransientError"


class DeliveryError(MediaflowError):
    """A notification could not be delivered this time; it will be retried."""

    code = "DeliveryFailed"


class UnsafeUrlError(MediaflowError):
    """A user-supplied URL points somewhere the service must not reach."""

    code = "InvalidArgument"


def code_for(error_type: str) -> str:
    """The Code of an error known only by its type name (as Step Functions reports Lambda errors)."""
    known = {cls.__name__: cls.code for cls in _all_subclasses(MediaflowError)}
    return known.get(error_type, "InternalError")


def _all_subclasses(cls: type) -> list[type]:
    found = []
    for sub in cls.__subclasses__():
        found += [sub, *_all_subclasses(sub)]
    return found
