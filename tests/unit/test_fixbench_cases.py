"""FixBench is sound: every case fails as described, only a real fix passes its acceptance check, and
the split holds every case once."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

# bench/ is not an installed package; the repository root makes ``bench.fixbench`` importable.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.fixbench.acceptance import (
    check_acceptance,
    files_from_diff,
    judge,
    patched_tree,
    run_failing,
    run_inputs,
    same_value,
)
from bench.fixbench.cases import (
    KINDS,
    SPLIT_FILE,
    AcceptanceInput,
    Case,
    CaseError,
    load_case,
    load_cases,
    load_split,
    select,
)
from bench.fixbench.known_rejections import KNOWN_REJECTIONS
from bench.fixbench.report import (
    CaseResult,
    Verdict,
    format_split_runs,
    format_summary,
    percentile,
    split_runs,
    spread,
    summarize,
)

from smartworker.reasoning.context import extract
from smartworker.reasoning.edits import unified_diff
from smartworker.reasoning.review import hidden_error, ignored_input, lossy_codec, skipped_line
from smartworker.reasoning.variants import (
    deliberate_failure,
    empty_collection_variants,
    nearby_fields,
    touched_fields,
)
from smartworker.sandbox.base import SandboxRequest

CASES = load_cases()
TRAPS = [case for case in CASES if case.false_fix_trap]
SPLIT = load_split()


def known(check: str, cases: list[Case]) -> list[Any]:
    """``cases`` as parameters, those whose reference fix ``check`` is known to reject marked as expected
    failures (strict: a gate change that accepts one fails the test until its entry goes)."""
    rejected = KNOWN_REJECTIONS[check]
    return [pytest.param(case, id=case.id, marks=pytest.mark.xfail(reason=rejected[case.id], strict=True))
            if case.id in rejected else pytest.param(case, id=case.id) for case in cases]


def test_enough_cases_cover_every_kind() -> None:
    assert len(CASES) >= 52
    assert {case.kind for case in CASES} == KINDS
    assert len(TRAPS) >= 3
    assert len({case.id for case in CASES}) == len(CASES)


def test_the_split_holds_every_case_exactly_once() -> None:
    # load_split refuses a case listed twice; here every case is listed, and nothing else.
    assert sorted(SPLIT) == [case.id for case in CASES]
    tune = [case for case in select(CASES, "tune", SPLIT)]
    holdout = [case for case in select(CASES, "holdout", SPLIT)]
    assert len(tune) == 26 and len(holdout) >= 26 and len(tune) + len(holdout) == len(CASES)
    assert select(CASES, "all", SPLIT) == CASES
    assert {case.kind for case in holdout} >= {"time-zone", "multi-file", "mutable-state", "exception-handling"}
    assert sum(case.false_fix_trap for case in holdout) >= 3
    assert any(case.history_wrong for case in holdout)


def test_the_split_file_refuses_a_case_in_two_splits_and_a_case_missing(tmp_path: Path) -> None:
    raw = json.loads(SPLIT_FILE.read_text(encoding="utf-8"))
    assert "never used to choose a change" in raw["rule"]
    raw["holdout"].append(raw["tune"][0])
    twice = tmp_path / "split.json"
    twice.write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(CaseError, match=f"{raw['tune'][0]}.*'tune' and 'holdout'"):
        load_split(twice)
    partial = {case_id: split for case_id, split in SPLIT.items() if case_id != CASES[0].id}
    with pytest.raises(CaseError, match=CASES[0].id):
        select(CASES, "holdout", partial)


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



#: Cases whose handler, as shipped, raises on every input (the bad line runs unconditionally, or has
#: since a dependency changed), so production never recorded a successful job for it: the replay
#: would drop any history anyway.
NEVER_COMPLETED = frozenset({"median_price_true_division", "sms_inbound_bytes_body", "webhook_signature_str_key",
                             "delivery_eta_geocoder_v2"})
WITH_HISTORY = [case for case in CASES if case.id not in NEVER_COMPLETED]


def test_every_case_that_ever_worked_has_history() -> None:
    assert {case.id for case in CASES} >= NEVER_COMPLETED
    assert all(len(case.history) >= 2 for case in WITH_HISTORY), [c.id for c in WITH_HISTORY if len(c.history) < 2]
    assert all(not case.history for case in CASES if case.id in NEVER_COMPLETED)


@pytest.mark.parametrize("case", [c for c in CASES if c.id in NEVER_COMPLETED], ids=lambda c: c.id)
def test_cases_without_history_never_complete_a_job(case: Case) -> None:
    inputs = [case.failing_data, *(check.data for check in case.acceptance)]
    with patched_tree(case.app_dir) as root:
        outcomes = run_inputs(root, case.app_module, case.handler, inputs)
    assert not any(outcome.ok for outcome in outcomes)


@pytest.mark.parametrize("case", WITH_HISTORY, ids=lambda c: c.id)
def test_history_worked_and_a_correct_fix_keeps_exactly_its_right_answers(case: Case) -> None:
    with patched_tree(case.app_dir) as root:
        before = run_inputs(root, case.app_module, case.handler, case.history)
    with patched_tree(case.app_dir, case.reference_fix()) as root:
        after = run_inputs(root, case.app_module, case.handler, case.history)
    for index, (data, old, new) in enumerate(zip(case.history, before, after, strict=True)):
        assert old.ok, (data, old)
        assert new.ok, (data, new)
        # An earlier job the old code answered wrongly (history_wrong) gets another answer from the fix.
        assert same_value(new.result, old.result) is (index not in case.history_wrong), (data, old.result, new)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_history_is_not_the_failing_job_nor_a_hidden_input(case: Case) -> None:
    seen = [case.failing_data, *(check.data for check in case.acceptance)]
    assert not [data for data in case.history if data in seen]


def test_history_must_be_a_list_of_objects(tmp_path: Path) -> None:
    folder = tmp_path / CASES[0].id
    shutil.copytree(CASES[0].root, folder)
    raw = json.loads((folder / "case.json").read_text(encoding="utf-8"))
    assert load_case(folder).history == tuple(raw["history"])
    raw["history"] = [{"ok": 1}, "not an object"]
    (folder / "case.json").write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(CaseError, match="history"):
        load_case(folder)
    del raw["history"]
    (folder / "case.json").write_text(json.dumps(raw), encoding="utf-8")
    assert load_case(folder).history == ()


@pytest.mark.parametrize("case", TRAPS, ids=lambda c: c.id)
def test_naive_fix_passes_rerun_but_fails_acceptance(case: Case) -> None:
    assert run_failing(case, case.naive_fix()).ok, "the naive fix must stop the crash"
    assert not check_acceptance(case, case.naive_fix()).passed


@pytest.mark.parametrize("case", known("review", CASES))
def test_the_vetoing_static_checks_pass_every_reference_fix(case: Case) -> None:
    # dropped_call and ignored_input only inform (reasoning/gates.py): a right fix may trip them.
    assert hidden_error(case.app_files(), case.reference_fix(), case.failing_error or "Exception") is None
    assert lossy_codec(case.app_files(), case.reference_fix(), case.failing_error or "Exception") is None
    assert skipped_line(case.app_files(), case.reference_fix(), failing_line(case)) is None


@pytest.mark.parametrize("case_id", ["campaign_conversion_zero_visits", "webhook_signature_str_key"])
def test_review_flags_the_naive_fixes_that_swallow_the_error(case_id: str) -> None:
    case = next(c for c in CASES if c.id == case_id)
    assert hidden_error(case.app_files(), case.naive_fix(), case.failing_error or "Exception") is not None


def test_review_flags_the_naive_fix_that_replaces_bytes_and_ignores_the_charset() -> None:
    case = next(c for c in CASES if c.id == "csv_import_latin1")
    assert lossy_codec(case.app_files(), case.naive_fix(), case.failing_error or "Exception") is not None
    assert ignored_input({**case.app_files(), **case.naive_fix()}, case.failing_data) is not None


def failing_line(case: Case) -> str:
    """The line the original code raises on with ``failing_data``, found as the resolver finds it:
    the sandbox runner's traceback (here run without isolation) through ``extract``."""
    with patched_tree(case.app_dir) as root:
        request = SandboxRequest(app_root=root, app_module=case.app_module, handler=case.handler,
                                 data=case.failing_data, hazard_testing=True)
        proc = subprocess.run([sys.executable, "-B", "-m", "smartworker.sandbox.runner"], cwd=root,
                              input=json.dumps(request.payload(str(root))), capture_output=True, text=True,
                              timeout=30, check=False)
        answer = json.loads(proc.stdout)
        ctx = extract(queue="fixbench", job_id=case.id, job_name=case.handler, attempts=1,
                      data=case.failing_data, opts={}, failed_reason=f"{answer['exc_type']}: {answer['message']}",
                      stacktrace=[answer["traceback"]], app_root=root)
    assert ctx.failing_location is not None, answer["traceback"]
    return ctx.failing_location.code


def empty_variants(case: Case, patch: dict[str, str]) -> list[dict[str, Any]]:
    """The data of the empty-collection variants the resolver would run for ``patch`` as a candidate."""
    code = failing_line(case)
    if deliberate_failure(code):
        return []
    diff = unified_diff({path: case.app_files()[path] for path in patch}, patch)
    return [v.data for v in empty_collection_variants(case.failing_data, touched_fields(diff, code),
                                                      nearby_fields(diff, code))]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_reference_fix_survives_its_empty_collection_variants(case: Case) -> None:
    # Refusing an empty list with some error may be right; the case's own error, or no answer, is not.
    variants = empty_variants(case, case.reference_fix())
    with patched_tree(case.app_dir, case.reference_fix()) as root:
        outcomes = run_inputs(root, case.app_module, case.handler, variants)
    for data, outcome in zip(variants, outcomes, strict=True):
        assert outcome.error not in (case.failing_error, "TimeoutExpired", "RunnerError"), (data, outcome)


def test_empty_collection_variant_catches_the_campaign_trap() -> None:
    case = next(c for c in CASES if c.id == "campaign_conversion_zero_visits")
    assert empty_variants(case, case.naive_fix()) == [{"campaigns": []}]
    with patched_tree(case.app_dir, case.naive_fix()) as root:
        [outcome] = run_inputs(root, case.app_module, case.handler, [{"campaigns": []}])
    assert outcome.error == case.failing_error == "ZeroDivisionError"


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
        CaseResult("b", Verdict.FIXED, 30.0, 1500, 300, concerns=1),
        CaseResult("c", Verdict.FALSE_FIX, 20.0, 900, 100),
        CaseResult("f", Verdict.FALSE_FIX, 20.0, 900, 100, concerns=2),
        CaseResult("d", Verdict.REJECTED, 40.0, 3000, 600, concerns=1),
        CaseResult("e", Verdict.FAILED, 100.0),
    ]
    s = summarize(results)
    assert (s.cases, s.fixed, s.false_fixes, s.rejected, s.failed) == (6, 2, 2, 1, 1)
    assert s.fix_rate == pytest.approx(1 / 3)
    assert s.false_fix_rate == pytest.approx(0.5)
    assert s.median_seconds == 25.0 and s.p95_seconds == 100.0
    assert (s.prompt_tokens, s.completion_tokens, s.total_tokens) == (7300, 1300, 8600)
    # Claims with no concern: a and c (a rejected case's concerns do not count); c is false.
    assert (s.quiet_claims, s.quiet_false_fixes, s.quiet_false_fix_rate) == (2, 1, 0.5)
    assert "fix rate 33%" in format_summary(s)
    assert "claimed without a concern: 2, false fixes among them 1 (50%)" in format_summary(s)


def test_split_runs_count_per_split_and_seed_with_mean_and_spread() -> None:
    rows = [("tune", 0, Verdict.FIXED), ("tune", 0, Verdict.REJECTED), ("holdout", 0, Verdict.FALSE_FIX),
            ("tune", 100, Verdict.FIXED), ("tune", 100, Verdict.FIXED), ("holdout", 100, Verdict.FAILED)]
    runs = split_runs(rows)
    assert [(r.split, r.seed, r.cases, r.fixed, r.false_fixes, r.not_fixed) for r in runs] == [
        ("tune", 0, 2, 1, 0, 1), ("holdout", 0, 1, 0, 1, 0), ("tune", 100, 2, 2, 0, 0), ("holdout", 100, 1, 0, 0, 1)]
    assert runs[1].false_fix_rate == 1.0 and runs[3].false_fix_rate is None
    rate = spread(r.fix_rate for r in runs if r.split == "tune")
    assert rate is not None and (rate.mean, rate.low, rate.high, rate.stdev) == (0.75, 0.5, 1.0, 0.25)
    assert spread([None, None]) is None
    text = format_split_runs(runs)
    assert text.splitlines()[0] == "tune (2 cases)"
    assert "fix rate:       mean 75% (range 50%–100%, sd 25%)" in text
    assert "false-fix rate: mean 100% (range 100%–100%, sd 0%)" in text  # the seed with no claim is not 0 %


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


@pytest.mark.parametrize("case", CASES[:6], ids=lambda c: c.id)
def test_a_pipeline_diff_gives_back_the_changed_files(case: Case) -> None:
    reference = case.reference_fix()
    diff = unified_diff(case.app_files(), reference)
    assert files_from_diff(case, diff) == reference
    assert files_from_diff(case, "") is None
    broken = diff.replace("\n-", "\n-nonsense ", 1)
    assert files_from_diff(case, broken) is None
