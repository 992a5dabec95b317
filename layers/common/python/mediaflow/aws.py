"""boto3 clients, made once per process. They honour AWS_ENDPOINT_URL, so the same code talks to AWS,
LocalStack or the embedded emulator without knowing which."""

from __future__ import annotations

import threading
from functools import cache
from typing import Any

import boto3

# Clients are thread-safe once made, but making them from boto3's default session is not.
_making = threading.Lock()


@cache
def client(service: str, region_name: str | None = None) -> Any:
    with _making:
        return boto3.client(service, region_name=region_name) if region_name else boto3.client(service)


@cache
def resource(service: str) -> Any:
    with _making:
        return boto3.resource(service)


def reset() -> None:
    """Forget cached clients (tests switch between emulators)."""
    client.cache_clear()
    resource.cache_clear()
