"""Deciding whether a candidate fix really fixes the failed job.

A candidate is fixed only when the failed job's data runs to completion against it, inside the limits,
so do the variants of that data in which a field the change touches is null instead of absent (or
the reverse), and the recent successful inputs of the same handler still succeed (a regression check). The baseline
runs the original code first so a verdict is never given on a failure the sandbox cannot reproduce.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from smartworker.sandbox.base import SandboxBackend, SandboxOutcome, SandboxRequest


@dataclass(frozen=True)
class Verdict:
    """The answer for one candidate, with every run it took to reach it."""

    fixed: bool
    reason: str  #: one line
    failing: SandboxOutcome  #: the failed job's data against the candidate
    #: the other runs, in order: variants of the failing data, then earlier successful inputs
    replays: list[SandboxOutcome] = field(default_factory=list)

    @property
    def runs(self) -> list[SandboxOutcome]:
        """Every run, the failing data first."""
        return [self.failing, *self.replays]


@dataclass(frozen=True)
class Baseline:
    """The original code run on the failing data: does the failure reproduce in the sandbox?"""

    reproduced: bool
    reason: str  #: one line
    outcome: SandboxOutcome


def _describe(outcome: SandboxOutcome) -> str:
    return f"{outcome.status.value}: {outcome.reason}"


async def verify(backend: SandboxBackend, request_template: SandboxRequest, failing_data: dict[str, Any],
                 replay_inputs: Sequence[dict[str, Any]], *, max_replays: int | None = None,
                 variants: Mapping[str, dict[str, Any]] | None = None) -> Verdict:
    """Run the failed job's data, then its ``variants`` (description -> data: the same job in a form
    producers also send, which must complete too) and up to ``max_replays`` earlier successful inputs,
    against the candidate in ``request_template.changed_files``; fixed only if every run completes.

    The other runs start only once the failing data passes, concurrently up to the backend's limit.
    """
    failing = await backend.run(request_template.with_data(failing_data))
    if not failing.ok:
        return Verdict(False, f"the failing job still fails ({_describe(failing)})", failing)
    checks = dict(variants or {})
    inputs = list(replay_inputs if max_replays is None else replay_inputs[:max_replays])
    runs = list(await asyncio.gather(*(backend.run(request_template.with_data(d))
                                       for d in [*checks.values(), *inputs])))
    for description, outcome in zip(checks, runs, strict=False):
        if not outcome.ok:
            return Verdict(False, f"the job still fails with {description} ({_describe(outcome)})", failing, runs)
    replays = runs[len(checks):]
    for index, outcome in enumerate(replays, 1):
        if not outcome.ok:
            return Verdict(False, f"regression on replay {index} of {len(replays)} ({_describe(outcome)})",
                           failing, runs)
    done = [f"{len(checks)} variant(s) of its data" if checks else "",
            f"{len(replays)} earlier input(s)" if replays else ""]
    checked = " and ".join(d for d in done if d)
    return Verdict(True, "the failing job now completes" + (f"; {checked} also succeed" if checked else ""),
                   failing, runs)


async def baseline(backend: SandboxBackend, request: SandboxRequest, failing_data: dict[str, Any], *,
                   expected_exc_type: str | None = None) -> Baseline:
    """Run the ORIGINAL code (``changed_files`` ignored) on the failing data and check that it fails,
    with ``expected_exc_type`` when given (e.g. the worker saw an AttributeError)."""
    outcome = await backend.run(replace(request, changed_files={}).with_data(failing_data))
    if outcome.ok:
        return Baseline(False, "the original code succeeds in the sandbox: the failure does not reproduce",
                        outcome)
    if expected_exc_type and outcome.exc_type != expected_exc_type:
        return Baseline(False, f"the original code fails differently in the sandbox ({_describe(outcome)}; "
                               f"expected {expected_exc_type})", outcome)
    return Baseline(True, f"the failure reproduces ({_describe(outcome)})", outcome)
