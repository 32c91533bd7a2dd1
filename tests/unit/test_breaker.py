"""The LLM circuit breaker's state machine, on a clock the test moves."""

from __future__ import annotations

from smartworker.reasoning.llm import CircuitBreaker


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_opens_backs_off_doubling_and_closes() -> None:
    clock = Clock()
    breaker = CircuitBreaker(backoff_s=2, max_backoff_s=5, clock=clock)
    assert breaker.closed and breaker.wait_s() == 0
    assert breaker.trip("refused") is True  # an outage begins
    assert not breaker.closed and breaker.wait_s() == 2 and breaker.reason == "refused"
    clock.now += 2
    assert breaker.wait_s() == 0  # half-open: the next caller tries
    assert breaker.trip("refused again") is False  # the same outage goes on
    assert breaker.wait_s() == 4
    clock.now += 4
    breaker.trip("still")
    assert breaker.wait_s() == 5  # capped
    assert breaker.reset() is True and breaker.closed and breaker.wait_s() == 0
    assert breaker.reset() is False
