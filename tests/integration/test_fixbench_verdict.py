"""The sandbox verdict on FixBench's own fixes, through real bubblewrap: every human fix passes,
with the case's earlier jobs as the replay references the resolver would use."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# bench/ is not an installed package; the repository root makes ``bench.fixbench`` importable.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.fixbench.cases import Case, load_cases
from bench.fixbench.known_rejections import KNOWN_REJECTIONS

from smartworker.sandbox import SandboxRequest, verify
from smartworker.sandbox.bwrap import BwrapSandbox
from smartworker.sandbox.verdict import UNCOMPARED, ReplayReference, Verdict, replay_references

CASES = {case.id: case for case in load_cases()}
#: Reference fixes this verdict is known to turn down (findings, see known_rejections.py).
REJECTED = KNOWN_REJECTIONS["verdict_history"]


def request(case: Case, files: dict[str, str] | None = None) -> SandboxRequest:
    return SandboxRequest(app_root=case.app_dir, app_module=case.app_module, handler=case.handler,
                          changed_files=files or {})


async def judged(backend: BwrapSandbox, case: Case, files: dict[str, str],
                 references: list[ReplayReference]) -> Verdict:
    return await verify(backend, request(case, files), case.failing_data, [r.data for r in references],
                        expected=[r.result for r in references])


@pytest.mark.parametrize("case_id", [
    pytest.param(case_id, marks=pytest.mark.xfail(reason=REJECTED[case_id], strict=True)) if case_id in REJECTED
    else case_id for case_id in sorted(CASES)])
async def test_every_reference_fix_is_fixed(sandbox: BwrapSandbox, case_id: str) -> None:
    case = CASES[case_id]
    references = await replay_references(sandbox, request(case), list(case.history))
    verdict = await judged(sandbox, case, case.reference_fix(), references)
    assert verdict.fixed, verdict.reason


async def test_an_answer_that_follows_the_machines_time_zone_is_not_a_fix(sandbox: BwrapSandbox) -> None:
    case = CASES["shift_duration_mixed_tz"]
    source = case.app_files()["payroll/__init__.py"]
    # astimezone() reads a naive time as the machine's local time, not the site's: 7.5 hours, not 8.5,
    # on a UTC machine. That is the sandbox's usual zone too, so only another zone shows it.
    local = source.replace("return datetime.fromisoformat(stamp)",
                           "return datetime.fromisoformat(stamp).astimezone(site_tz)")
    assert local != source
    references = await replay_references(sandbox, request(case), list(case.history))
    assert any(r.result is not UNCOMPARED for r in references)
    verdict = await judged(sandbox, case, {"payroll/__init__.py": local}, references)
    assert not verdict.fixed
    assert verdict.reason.startswith("the job's answer depends on the machine's local time zone: with the zone "
                                     "set to UTC+14 it returns ")
    assert '"shifts": [21.5]' in verdict.reason and '"shifts": [7.5]' in verdict.reason
