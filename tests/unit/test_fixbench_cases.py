"""FixBench is sound: every case fails as described, and only a real fix passes its acceptance check."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# bench/ is not an installed package; the repository root makes ``bench.fixbench`` importable.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.fixbench.acceptance import check_acceptance, judge, run_failing, same_value
from bench.fixbench.cases import KINDS, AcceptanceInput, Case, load_cases
from bench.fixbench.report import CaseResult, Verdict, format_summary, percentile, summarize

CASES = load_cases()
TRAPS = [case for case in CASES if case.false_fix_trap]


def test_enough_cases_cover_every_kind() -> None:
    assert len(CASES) >= 24
    assert {case.kind for case in CASES} == KINDS
    assert len(TRAPS) >= 3
    assert len({case.id for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_case_is_sound(case: Case) -> None:
    failing = run_failing(case)
    assert not failing.ok, "failing_data must fail on the original code"
    if case.failing_error:
        assert failing.error == case.failing_error, failing.message
    assert not check_acceptance(case).passed, "acceptance must fail on the original code"
    fixed = check_acceptance(case, case.reference_fix())
    assert fixed.passed, [(v.check.data, v.outcome) for v in fixed.failures]
    assert set(case.reference_fix()) <= set(case.app_files()), "a reference fix changes existing files"


@pytest.mark.parametrize("case", TRAPS, ids=lambda c: c.id)
def test_naive_fix_passes_rerun_but_fails_acceptance(case: Case) -> None:
    assert run_failing(case, case.naive_fix()).ok, "the naive fix must stop the crash"
    assert not check_acceptance(case, case.naive_fix()).passed


def test_patch_cannot_escape_the_app() -> None:
    with pytest.raises(ValueError, match="relative"):
        check_acceptance(CASES[0], {"../outside.py": "x = 1\n"})


def test_endless_patch_times_out() -> None:
    case = next(c for c in CASES if c.id == "invoice_reference_int_id")
    source = case.app_files()["documents/__init__.py"].replace('    year = data["issued_on"][:4]',
                                                                 "    while True:\n        pass")
    report = check_acceptance(case, {"documents/__init__.py": source}, timeout=3)
    assert not report.passed
    assert {v.outcome.error for v in report.verdicts} == {"TimeoutExpired"}


def test_judge_and_float_tolerance() -> None:
    assert same_value({"a": [0.1 + 0.2]}, {"a": [0.3]})
    assert not same_value(1, True) and not same_value(None, 0) and not same_value("1", 1)
    assert same_value(8, 8.0)
    raised = run_failing(CASES[0])
    assert judge(AcceptanceInput({}, raises=raised.error), raised)
    assert judge(AcceptanceInput({}, raises="Exception"), raised)  # a base class matches
    assert not judge(AcceptanceInput({}, expected=None), raised)


def test_summary_counts_rates_and_times() -> None:
    results = [
        CaseResult("a", Verdict.FIXED, 10.0, 1000, 200),
        CaseResult("b", Verdict.FIXED, 30.0, 1500, 300),
        CaseResult("c", Verdict.FALSE_FIX, 20.0, 900, 100),
        CaseResult("d", Verdict.REJECTED, 40.0, 3000, 600),
        CaseResult("e", Verdict.FAILED, 100.0),
    ]
    s = summarize(results)
    assert (s.cases, s.fixed, s.false_fixes, s.rejected, s.failed) == (5, 2, 1, 1, 1)
    assert s.fix_rate == pytest.approx(0.4)
    assert s.false_fix_rate == pytest.approx(1 / 3)
    assert s.median_seconds == 30.0 and s.p95_seconds == 100.0
    assert (s.prompt_tokens, s.completion_tokens, s.total_tokens) == (6400, 1200, 7600)
    assert "fix rate 40%" in format_summary(s)


def test_summary_of_nothing_is_not_zero_percent() -> None:
    s = summarize([])
    assert s.fix_rate is None and s.false_fix_rate is None and s.median_seconds is None
    assert "n/a" in format_summary(s)
    assert summarize([CaseResult("x", Verdict.REJECTED, 1.0)]).false_fix_rate is None


def test_percentile_nearest_rank() -> None:
    values = [float(v) for v in range(1, 21)]
    assert percentile(values, 0.95) == 19.0
    assert percentile(values, 0.5) == 10.0
    assert percentile([], 0.95) is None
