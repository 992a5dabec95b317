"""boto3 clients, made once per process, and resources, made once per thread. They honour
AWS_ENDPOINT_URL, so the same code talks to AWS, LocalStack or the embedded emulator without
knowing which."""

from __future__ import annotations

import threading
from functools import cache
from typing import Any

import boto3

# Clients are thread-safe once made, but making them from boto3's default session is not.
_making = threading.Lock()
# Resources are not thread-safe (the DynamoDB one builds condition expressions with shared
# counters), and the Notifier delivers from several threads: each thread gets its own.
_per_thread = threading.local()
_generation = 0  # bumped by reset(), so that every thread makes its resources afresh


@cache
def client(service: str, region_name: str | None = None) -> Any:
    with _making:
        return boto3.client(service, region_name=region_name) if region_name else boto3.client(service)


def resource(service: str) -> Any:
    made = getattr(_per_thread, "resources", None)
    if made is None or _per_thread.generation != _generation:
        made = _per_thread.resources = {}
        _per_thread.generation = _generation
    if service not in made:
        with _making:
            made[service] = boto3.resource(service)
    return made[service]


def reset() -> None:
    """Forget made clients and resources (tests switch between emulators)."""
    global _generation
    client.cache_clear()
    _generation += 1
