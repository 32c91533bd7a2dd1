"""One FixBench case through the real repair loop, judged by its hidden acceptance check."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from smartworker.errors import SmartWorkerError
from smartworker.reasoning.context import extract
from smartworker.reasoning.records import FixRecord
from smartworker.reasoning.resolver import Resolver, Target
from smartworker.sandbox.base import SandboxBackend, SandboxRequest

from .acceptance import check_acceptance, files_from_diff
from .cases import Case
from .report import Verdict


async def run_case(case: Case, resolver: Resolver, sandbox: SandboxBackend, memory: Any | None, *,
                   history: bool = True) -> dict[str, Any]:
    """One case end to end; returns a row for the table and the JSON output."""
    started = time.monotonic()
    request = SandboxRequest(app_root=case.app_dir, app_module=case.app_module, handler=case.handler,
                             data=case.failing_data, job_id=case.id, queue="fixbench", hazard_testing=True)
    original = await sandbox.run(request)
    if original.ok:
        return {"case": case.id, "kind": case.kind, "verdict": Verdict.FAILED.value, "seconds": 0.0,
                "reason": "the failing data does not fail in the sandbox", "tokens": [0, 0], "candidates": 0}
    ctx = extract(queue="fixbench", job_id=case.id, job_name=case.handler, attempts=3, data=case.failing_data,
                  opts={}, failed_reason=f"{original.exc_type}: {original.message}",
                  stacktrace=[original.traceback or ""], app_root=case.app_dir)
    record = FixRecord.new(case.id, "fixbench", case.id, case.handler)
    verdict = Verdict.FAILED
    reason = ""
    try:
        if memory is not None:
            await memory.remember_failure(ctx)
        result = await resolver.run(ctx, case.failing_data, record,
                                    target=Target(case.app_dir, case.app_module, hazard_testing=True),
                                    replay_inputs=list(case.history) if history else [])
        reason = result.reason
        if result.fixed:
            report = await asyncio.to_thread(check_acceptance, case, result.files)
            verdict = Verdict.FIXED if report.passed else Verdict.FALSE_FIX
            if not report.passed:
                reason += f" | acceptance failed on {len(report.failures)} input(s)"
            elif memory is not None:
                await memory.remember_resolution("fixbench", case.id, result.summary, result.diff)
        else:
            verdict = Verdict.REJECTED
    except SmartWorkerError as exc:
        reason = f"{type(exc).__name__}: {exc.message}"
    return {
        "case": case.id,
        "kind": case.kind,
        "trap": case.false_fix_trap,
        "verdict": verdict.value,
        "seconds": round(time.monotonic() - started, 2),
        "tokens": [record.prompt_tokens, record.completion_tokens],
        "candidates": len(record.candidates),
        "rejections": [c.rejected for c in record.candidates if c.rejected],
        # The vetoing gate of each candidate turned down ("-" for one that passed every veto), and the
        # inform gates that said no: reasoning/gates.py.
        "gates": [_veto(c.gates) for c in record.candidates],
        "informed": sorted({row["name"] for c in record.candidates for row in c.gates
                            if row["policy"] == "inform" and row["outcome"] == "failed"}),
        # The informing checks that said no to the claimed fix itself, as its email lists them.
        "concerns": record.concerns,
        # What became of each candidate, and the contract review's answer where one was asked.
        "trail": await _trail(case, record),
        "reason": reason,
        "diff": record.diff,
        "memory": record.memory,
    }


async def _trail(case: Case, record: FixRecord) -> list[dict[str, Any]]:
    """What became of each candidate; for those the sandbox passed (so the contract review judged
    them), also whether the hidden acceptance check passes: how often the review is right."""
    trail: list[dict[str, Any]] = []
    for candidate in record.candidates:
        step: dict[str, Any] = {"outcome": candidate.rejected or candidate.verdict, "review": candidate.review,
                                "model": candidate.model, "gates": candidate.gates}
        if candidate.review is not None and candidate.diff:
            files = await asyncio.to_thread(files_from_diff, case, candidate.diff)
            report = await asyncio.to_thread(check_acceptance, case, files) if files is not None else None
            step["acceptance"] = None if report is None else report.passed
        trail.append(step)
    return trail


def _veto(rows: list[dict[str, Any]]) -> str:
    """The vetoing gate that turned a candidate down, "-" when none did (or none ran: an LLM error)."""
    return next((r["name"] for r in rows if r["policy"] == "veto" and r["outcome"] == "failed"), "-")
