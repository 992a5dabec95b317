"""Configuration from environment variables, read once and failing fast when one is missing."""

import os
from functools import cache


class MissingSettingError(RuntimeError):
    pass


def setting(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise MissingSettingError(f"environment variable {name} is not set")
    return value


@cache
def table_name() -> str:
    return setting("TABLE_NAME")


@cache
def region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
