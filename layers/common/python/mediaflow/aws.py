"""boto3 clients, made once per process. They honour AWS_ENDPOINT_URL, so the same code talks to AWS,
LocalStack or the embedded emulator without knowing which."""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3


@cache
def client(service: str) -> Any:
    return boto3.client(service)


@cache
def resource(service: str) -> Any:
    return boto3.resource(service)


def reset() -> None:
    """Forget cached clients (tests switch between emulators)."""
    client.cache_clear()
    resource.cache_clear()
