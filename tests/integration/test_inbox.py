"""The reliable inbox (VOD's PullEvents / ConfirmEvents) on the template's table in moto, directly and
through the API's MPS face."""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest
from mediaflow.exceptions import InvalidInputError
from mediaflow.notify import inbox
from support import tc3_event

pytestmark = pytest.mark.integration
BUCKET = "inbox-1250000000"
T0 = datetime(2024, 5, 1, 8, 0, tzinfo=timezone.utc)


def keep(number: int, *, bucket: str = BUCKET, at: datetime | None = None) -> bool:
    return inbox.keep(bucket, f"e{number:03d}", "TaskFinish", {"TaskFinishEvent": {"Number": number}},
                      at or T0 + timedelta(seconds=number))


def ids(events: list[dict]) -> list[str]:
    return [event["EventId"] for event in events]


def refusal(handles: list[str]) -> str:
    with pytest.raises(InvalidInputError) as refused:
        inbox.confirm(BUCKET, handles)
    assert refused.value.code == "InvalidParameterValue"
    return refused.value.message


def test_keeping_an_event_twice_stores_it_once(stack) -> None:
    assert keep(1) is True
    assert keep(1) is False
    assert keep(1, at=T0 + timedelta(hours=1)) is False  # a repeat made later is the same event
    events = inbox.pull(BUCKET, wait=0)
    assert len(events) == 1
    event = events[0]
    assert event["EventId"] == "e001" and event["EventType"] == "TaskFinish"
    assert event["TaskFinishEvent"] == {"Number": 1} and isinstance(event["EventHandle"], str)
    inbox.confirm(BUCKET, [event["EventHandle"]])
    assert keep(1) is False  # the guard outlives the confirm: a late duplicate is not delivered again
    assert inbox.pull(BUCKET, wait=0) == []


def test_kept_events_carry_a_ttl(stack) -> None:
    keep(1)
    items = [item for item in inbox.store.table().scan()["Items"] if item["pk"].startswith("INBOX#")]
    assert len(items) == 2  # the event and its guard
    for item in items:
        assert abs(int(item["expires"]) - (time.time() + 4 * 86400)) < 60


def test_pull_returns_at_most_16_oldest_first(stack) -> None:
    numbers = list(range(20))
    random.Random(7).shuffle(numbers)
    for number in numbers:
        keep(number)
    first = inbox.pull(BUCKET, wait=0)
    assert ids(first) == [f"e{n:03d}" for n in range(16)]
    assert len({event["EventHandle"] for event in first}) == 16
    assert ids(inbox.pull(BUCKET, wait=0)) == [f"e{n:03d}" for n in range(16, 20)]
    assert inbox.pull(BUCKET, wait=0) == []  # all 20 are in flight


def test_order_is_by_time_whatever_the_offset(stack) -> None:
    china = timezone(timedelta(hours=8))
    inbox.keep(BUCKET, "later", "TaskFinish", {}, datetime(2024, 5, 1, 9, 0, tzinfo=timezone.utc))
    inbox.keep(BUCKET, "earlier", "TaskFinish", {}, datetime(2024, 5, 1, 16, 30, tzinfo=china))  # 08:30 UTC
    assert ids(inbox.pull(BUCKET, wait=0)) == ["earlier", "later"]


def test_confirm_deletes_and_a_second_confirm_is_refused(stack) -> None:
    for number in range(3):
        keep(number)
    handles = [event["EventHandle"] for event in inbox.pull(BUCKET, wait=0)]
    inbox.confirm(BUCKET, handles)
    assert inbox.pull(BUCKET, wait=0, visibility=1) == []
    message = refusal(handles[:1])
    assert "EventHandles[0]" in message and "already confirmed" in message


def test_unconfirmed_event_comes_back_and_its_old_handle_is_refused(stack) -> None:
    keep(1)
    old = inbox.pull(BUCKET, wait=0, visibility=1)[0]["EventHandle"]
    assert inbox.pull(BUCKET, wait=0) == []  # hidden during its window
    time.sleep(1.1)
    again = inbox.pull(BUCKET, wait=0, visibility=30)
    assert ids(again) == ["e001"] and again[0]["EventHandle"] != old
    assert "pulled again" in refusal([old])
    inbox.confirm(BUCKET, [again[0]["EventHandle"]])
    assert inbox.pull(BUCKET, wait=0) == []


def test_a_handle_past_its_window_is_refused_even_if_nobody_pulled_again(stack, monkeypatch) -> None:
    monkeypatch.setenv("INBOX_VISIBILITY_SECONDS", "1")
    keep(1)
    keep(2)
    first, second = (event["EventHandle"] for event in inbox.pull(BUCKET, wait=0))
    time.sleep(1.1)
    message = refusal([first, second])
    assert "EventHandles[0]" in message and "EventHandles[1]" in message and "visibility window" in message
    assert ids(inbox.pull(BUCKET, wait=0)) == ["e001", "e002"]  # nothing was lost


def test_a_stale_handle_does_not_hold_back_the_others(stack) -> None:
    keep(1)
    keep(2)
    stale = inbox.pull(BUCKET, wait=0, limit=1, visibility=1)[0]["EventHandle"]
    fresh = inbox.pull(BUCKET, wait=0, limit=1)[0]["EventHandle"]
    time.sleep(1.1)
    message = refusal([stale, fresh])
    assert "EventHandles[0]" in message and "EventHandles[1]" not in message and "other handles were confirmed" in message
    assert ids(inbox.pull(BUCKET, wait=0)) == ["e001"]


def test_pull_on_an_empty_inbox_waits(stack) -> None:
    started = time.monotonic()
    assert inbox.pull(BUCKET, wait=1.0) == []
    assert time.monotonic() - started >= 0.9


def test_pull_returns_an_event_kept_while_it_waits(stack) -> None:
    later = threading.Timer(0.5, keep, args=(1,))
    later.start()
    started = time.monotonic()
    try:
        events = inbox.pull(BUCKET, wait=5.0)
    finally:
        later.join()
    assert ids(events) == ["e001"]
    assert time.monotonic() - started < 4.5  # returned when it came, not at the end of the wait


def test_concurrent_pullers_never_share_an_event(stack) -> None:
    for number in range(40):
        keep(number)
    start = threading.Barrier(4)
    pulled: list[list[dict]] = [[] for _ in range(4)]

    def puller(slot: int) -> None:
        start.wait()
        pulled[slot] = inbox.pull(BUCKET, wait=0)

    threads = [threading.Thread(target=puller, args=(slot,)) for slot in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    everything = [event_id for events in pulled for event_id in ids(events)]
    assert len(everything) == len(set(everything)) == 40  # 4 x 16 slots cover all 40, none twice
    for events in pulled:
        assert ids(events) == sorted(ids(events))


def test_nothing_is_lost_across_threads_that_sometimes_forget_to_confirm(stack) -> None:
    wanted = {f"e{number:03d}" for number in range(40)}
    for number in range(40):
        keep(number)
    confirmed: Counter[str] = Counter()
    forgotten: set[str] = set()
    lock = threading.Lock()
    deadline = time.monotonic() + 60

    def worker() -> None:
        while time.monotonic() < deadline:
            with lock:
                if set(confirmed) == wanted:
                    return
            for event in inbox.pull(BUCKET, limit=5, wait=0.5, visibility=2):
                with lock:  # every seventh event is dropped the first time, as a crashed worker would
                    forget = event["EventId"] not in forgotten and int(event["EventId"][1:]) % 7 == 0
                    forgotten.add(event["EventId"])
                if forget:
                    continue
                try:
                    inbox.confirm(BUCKET, [event["EventHandle"]])
                except InvalidInputError:  # too slow for its window: it will come back
                    continue
                with lock:
                    confirmed[event["EventId"]] += 1

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert set(confirmed) == wanted and set(confirmed.values()) == {1}
    assert inbox.pull(BUCKET, wait=0) == []


@pytest.mark.parametrize(("kwargs", "problem"), [
    ({"limit": 0}, "limit"), ({"limit": 17}, "limit"), ({"wait": 6}, "wait"), ({"visibility": 0}, "visibility"),
])
def test_pull_refuses_bad_arguments(kwargs: dict, problem: str) -> None:
    with pytest.raises(InvalidInputError, match=problem):
        inbox.pull(BUCKET, **kwargs)


@pytest.mark.parametrize("handles", [[], ["x"] * 17, [3], "handle"])
def test_confirm_refuses_bad_handle_lists(handles) -> None:
    assert "EventHandles" in refusal(handles)


def test_confirm_refuses_a_malformed_handle_before_deleting_anything(stack) -> None:
    keep(1)
    good = inbox.pull(BUCKET, wait=0)[0]["EventHandle"]
    message = refusal([good, "not-a-handle"])
    assert "EventHandles[1]" in message and "not an event handle" in message
    inbox.confirm(BUCKET, [good])  # still confirmable: the bad request wrote nothing


# --------------------------------------------------------------------------- the MPS face
def call(serve, action: str, params: dict) -> dict:
    result = serve(tc3_event(action, params))
    assert result["statusCode"] == 200, result["body"]
    return json.loads(result["body"])["Response"]


def test_pull_and_confirm_events_through_the_api(serve, stack) -> None:
    input_bucket = stack.outputs["InputBucketName"]
    inbox.keep(input_bucket, "e1", "ProcedureStateChanged", {"ProcedureStateChangeEvent": {"TaskId": "t1"}}, T0)
    keep(2)  # another bucket's inbox
    response = call(serve, "PullEvents", {})
    assert response["RequestId"]
    [event] = response["EventSet"]
    assert event["EventType"] == "ProcedureStateChanged" and event["EventId"] == "e1"
    assert event["ProcedureStateChangeEvent"] == {"TaskId": "t1"} and event["EventHandle"]
    assert set(call(serve, "ConfirmEvents", {"EventHandles": [event["EventHandle"]]})) == {"RequestId"}

    other = call(serve, "PullEvents", {"Bucket": BUCKET})["EventSet"]
    assert ids(other) == ["e002"]
    assert set(call(serve, "ConfirmEvents", {"Bucket": BUCKET, "EventHandles": [other[0]["EventHandle"]]})) == {"RequestId"}

    error = call(serve, "ConfirmEvents", {"EventHandles": [event["EventHandle"]]})["Error"]
    assert error["Code"] == "InvalidParameterValue" and "already confirmed" in error["Message"]


def test_confirm_events_refuses_bad_input_clearly(serve) -> None:
    for params, named in [
        ({"EventHandles": ["x"] * 17}, "EventHandles"),
        ({"EventHandles": []}, "EventHandles"),
        ({}, "EventHandles"),
        ({"EventHandles": ["not-a-handle"]}, "EventHandles[0]"),
        ({"EventHandles": ["x"], "Bucket": "Not_A_Bucket"}, "Bucket"),
    ]:
        error = call(serve, "ConfirmEvents", params)["Error"]
        assert error["Code"] == "InvalidParameterValue" and named in error["Message"], (params, error)
