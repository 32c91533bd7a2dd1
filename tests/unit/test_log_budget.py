"""The failure log budget: a storm of one failure logs a few lines a second, each saying what it left out."""

from __future__ import annotations

from smartworker.log_budget import LogBudget


def test_a_storm_logs_a_few_lines_and_counts_the_rest() -> None:
    budget = LogBudget(3)
    key = ("charge", "ValueError", True)
    answers = [budget.admit(key) for _ in range(10)]
    assert answers[:3] == [0, 0, 0]
    assert answers[3:] == [None] * 7  # left out, counted
    other = ("charge", "KeyError", True)
    assert budget.admit(other) == 0  # another failure has its own budget


def test_the_next_line_after_a_second_says_how_many_were_left_out() -> None:
    now = [100.0]
    budget = LogBudget(1, clock=lambda: now[0])
    key = ("charge", "ValueError", True)
    assert budget.admit(key) == 0
    assert budget.admit(key) is None
    assert budget.admit(key) is None
    now[0] += 1.0
    assert budget.admit(key) == 2
