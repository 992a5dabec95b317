"""Notifications are queued in batches SendMessageBatch accepts: 10 entries and 256 KiB of bodies at most."""

from __future__ import annotations

from mediaflow.notify.outbox import SQS_BATCH_BYTES, batches


def test_batches_hold_ten_entries_at_most() -> None:
    packed = batches([f"n{i}" for i in range(23)])
    assert [len(b) for b in packed] == [10, 10, 3]
    assert [body for batch in packed for body in batch] == [f"n{i}" for i in range(23)]


def test_large_bodies_split_a_batch_by_bytes() -> None:
    body = "x" * 100_000  # a notification of a job with many outputs
    packed = batches([body] * 5 + ["small"])
    assert [len(b) for b in packed] == [2, 2, 2]
    assert all(sum(len(b) for b in batch) <= SQS_BATCH_BYTES for batch in packed)
    assert batches(["é" * 131_073, "a"]) == [["é" * 131_073], ["a"]]  # bytes, not characters
    assert batches([]) == []
