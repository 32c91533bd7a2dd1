"""A failed job's stack text: the same as traceback.format_exception's, also when taken from the cache."""

from __future__ import annotations

import traceback

import pytest

from smartworker.tracebacks import format_failure, record_stacktrace


def _inner(order: int) -> None:
    record = {"price": 1}
    raise KeyError(f"order {order}: {record['price'] + 1} missing")


def _outer(order: int) -> None:
    values = [order]
    _inner(values[0])


def _caught(call: object, *args: object) -> BaseException:
    try:
        call(*args)  # type: ignore[operator]
    except Exception as exc:
        return exc
    raise AssertionError("did not fail")


@pytest.mark.parametrize("order", [1, 2, 3])
def test_repeated_stacks_format_as_the_standard_library_does(order: int) -> None:
    exc = _caught(_outer, order)
    assert format_failure(exc) == "".join(traceback.format_exception(exc))


def test_chained_and_other_stacks_are_formatted_in_full() -> None:
    def chained() -> None:
        try:
            _outer(5)
        except KeyError as exc:
            raise ValueError("bad order") from exc

    def implicit() -> None:
        try:
            _outer(6)
        except KeyError:
            raise RuntimeError("while handling") from None

    for exc in (_caught(chained), _caught(implicit), _caught(_inner, 7)):
        assert format_failure(exc) == "".join(traceback.format_exception(exc))


def test_record_stacktrace_keeps_bullmqs_limit() -> None:
    class Job:
        def __init__(self, limit: int | None) -> None:
            self.opts = {} if limit is None else {"stackTraceLimit": limit}
            self.stacktrace = ["earlier 1", "earlier 2"]

    exc = _caught(_outer, 8)
    for limit, kept in ((None, 3), (2, 2), (0, 0)):
        job = Job(limit)
        record_stacktrace(job, exc)
        assert len(job.stacktrace) == kept
        if kept:
            assert job.stacktrace[-1] == "".join(traceback.format_exception(exc))
