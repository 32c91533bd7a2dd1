"""The one job-options validator the API, the CLI and the worker share."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smartworker.errors import InvalidJobOptionsError
from smartworker.options import MAX_WAIT_MS, longest_wait, parse_options, stored_options_problem


@pytest.mark.parametrize(("raw", "field"), [
    ({"attempts": "lots"}, "opts.attempts"),
    ({"attempts": True}, "opts.attempts"),
    ({"attempts": 0}, "opts.attempts"),
    ({"attempts": 101}, "opts.attempts"),
    ({"delay": 1e20}, "opts.delay"),
    ({"delay": -1}, "opts.delay"),
    ({"backoff": -5}, "opts.backoff"),
    ({"backoff": 10**30}, "opts.backoff"),
    ({"backoff": {"type": "weird"}}, "opts.backoff.type"),
    ({"backoff": {"delay": -1}}, "opts.backoff.delay"),
    ({"attempts": 100, "backoff": {"type": "exponential", "delay": 1000}}, "opts.backoff"),
    ({"priority": 2**21 + 1}, "opts.priority"),
    ({"jobId": "123"}, "opts.jobId"),
    ({"jobId": ""}, "opts.jobId"),
    ({"removeOnComplete": {"count": -1}}, "opts.removeOnComplete.count"),
    ({"removeOnFail": True}, "opts.removeOnFail"),
    ({"repeat": {"every": 1}}, "opts.repeat"),
])
def test_bad_options_name_their_field(raw: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidJobOptionsError) as caught:
        parse_options(raw)
    assert caught.value.field == field
    assert caught.value.message.startswith(field + ": ")


def test_good_options_pass_through_in_bullmq_shape() -> None:
    raw = {"attempts": 5, "backoff": {"type": "fixed", "delay": 250}, "delay": 10, "priority": 3, "lifo": True,
           "jobId": "order-7", "removeOnComplete": {"count": 10, "age": 60}}
    assert parse_options(raw).to_bullmq() == raw
    assert parse_options({"backoff": 100}).to_bullmq() == {"backoff": 100}


@given(attempts=st.integers(1, 100), delay=st.integers(0, MAX_WAIT_MS),
       kind=st.sampled_from(["fixed", "exponential"]))
def test_accepted_schedules_are_bounded(attempts: int, delay: int, kind: str) -> None:
    raw = {"attempts": attempts, "backoff": {"type": kind, "delay": delay}}
    try:
        opts = parse_options(raw)
    except InvalidJobOptionsError:
        assert kind == "exponential"
        return
    assert longest_wait(opts.attempts or 1, opts.backoff) <= MAX_WAIT_MS


def test_stored_options_of_other_producers() -> None:
    assert stored_options_problem({"attempts": "lots"}) == "opts.attempts: Input should be a valid integer"
    assert stored_options_problem("nope") is not None
    assert stored_options_problem({"backoff": {"type": "exponential", "delay": -3}}) is not None
    # What BullMQ (Python or Node) itself stores is usable, bookkeeping included.
    assert stored_options_problem({"attempts": 3, "backoff": {"type": "exponential", "delay": 1000}, "jobId": "7",
                                   "removeOnFail": True, "timestamp": 1, "attempts_extra": 1}) is None
    assert stored_options_problem({"attempts": 0, "delay": 0}) is None
