"""Deciding whether a candidate fix really fixes the failed job.

A candidate is fixed only when the failed job's data runs to completion against it, inside the limits,
with a result shaped like the results earlier jobs got (same keys, same kinds, money still "6.00"),
so do the variants of that data in which a field the change touches is null instead of absent (or
the reverse), with the same result, the tolerant variants (a list the change reads, emptied) do not
fail the original way, the recent successful inputs of the same handler still succeed (a
regression check), and the failed job gets the same answer on a machine in another time zone.
The baseline runs the original code first so a verdict is never given on a failure the sandbox
cannot reproduce.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from smartworker.redaction import redacted_json
from smartworker.sandbox.base import (
    ABNORMAL_STATUSES,
    SandboxBackend,
    SandboxOutcome,
    SandboxRequest,
    SandboxStatus,
)
from smartworker.sandbox.shape import mismatch


@dataclass(frozen=True)
class Verdict:
    """The answer for one candidate, with every run it took to reach it."""

    fixed: bool
    reason: str  #: one line
    failing: SandboxOutcome  #: the failed job's data against the candidate
    #: the other runs, in order: strict variants of the failing data, then tolerant ones, then
    #: earlier successful inputs, then the failing data in FAR_ZONE
    replays: list[SandboxOutcome] = field(default_factory=list)
    #: the data of the earlier job whose replay refused the candidate (the model must see what its
    #: change broke, not only the error); None for any other verdict
    regressed: dict[str, Any] | None = None

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


def _repeats(outcome: SandboxOutcome, failure_type: str | None) -> bool:
    """Whether a tolerant run failed the way the original job did, or did not end inside its limits."""
    if outcome.status in ABNORMAL_STATUSES:
        return True
    return outcome.status is SandboxStatus.ERROR and failure_type is not None and outcome.exc_type == failure_type


#: A result quoted in a regression reason is cut to this many characters.
QUOTE_CHARS = 300

#: An expected replay result that is not compared (the original code did not give a stable one).
UNCOMPARED: Any = object()

#: UTC+14 as a POSIX TZ string (no zoneinfo files needed in the sandbox): a zone no server runs in.
#: A job's answer that changes with it comes from the machine's local time, as ``astimezone()`` on
#: a naive datetime does; FixBench's shift_duration got exactly that false fix (7.5 hours for 8.5).
FAR_ZONE = "<+14>-14"


def in_far_zone(request: SandboxRequest) -> SandboxRequest:
    """The same request, run as if the machine's local time zone were FAR_ZONE."""
    return replace(request, env={**request.env, "TZ": FAR_ZONE})


@dataclass(frozen=True)
class ReplayReference:
    """An earlier successful input as the ORIGINAL code handles it today."""

    data: dict[str, Any]
    result: Any = UNCOMPARED  #: what a candidate must return too; UNCOMPARED when not stable


async def replay_references(backend: SandboxBackend, request: SandboxRequest,
                            inputs: Sequence[dict[str, Any]]) -> list[ReplayReference]:
    """Run the original code twice on each earlier successful input. Inputs it no longer handles are
    dropped; a result both runs agree on becomes the result a candidate must give (a fix for one
    job must not change the answer to jobs that already worked). A result that differs between two
    runs (a timestamp, a random id) is not compared, only required to come back at all. The second
    run is in FAR_ZONE, so a compared result is also one the machine's time zone does not change."""
    original = replace(request, changed_files={})
    runs = await asyncio.gather(*(backend.run(req.with_data(d)) for d in inputs
                                  for req in (original, in_far_zone(original))))
    references = []
    for index, data in enumerate(inputs):
        first, second = runs[2 * index], runs[2 * index + 1]
        if not (first.ok and second.ok):
            continue
        stable = _canonical(first.result) == _canonical(second.result)
        references.append(ReplayReference(data, first.result if stable else UNCOMPARED))
    return references


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


async def verify(backend: SandboxBackend, request_template: SandboxRequest, failing_data: dict[str, Any],
                 replay_inputs: Sequence[dict[str, Any]], *, max_replays: int | None = None,
                 variants: Mapping[str, dict[str, Any]] | None = None,
                 tolerant: Mapping[str, dict[str, Any]] | None = None,
                 failure_type: str | None = None, expected: Sequence[Any] | None = None,
                 same_answer: bool = False) -> Verdict:
    """Run the failed job's data, then its ``variants`` (description -> data: the same job in a form
    producers also send, which must complete too), its ``tolerant`` variants (which must only not raise
    ``failure_type``, the original exception type, nor end abnormally) and up to ``max_replays``
    earlier successful inputs, against the candidate in ``request_template.changed_files``; fixed only
    if every run passes its check.

    With ``same_answer`` (the variants are the failing data with a field null instead of absent, or
    the reverse) each must also give the failed job's own result, unless that changes from run to run.
    A tolerant variant is data the handler may rightly refuse (an empty list): another exception is
    an answer, the original one is the bug still there. With no ``failure_type`` only an abnormal end
    fails it. ``expected`` (aligned with ``replay_inputs``; see :func:`replay_references`) holds the
    result each replay must give, or UNCOMPARED; the failed job's own result must keep the shape
    the compared ones share (:mod:`smartworker.sandbox.shape`). When at least one result is compared
    (so the original code answers the same in any time zone), the failed job must get the same
    answer in FAR_ZONE too. The other runs start only once the failing data passes, concurrently up
    to the backend's limit.
    """
    failing = await backend.run(request_template.with_data(failing_data))
    if not failing.ok:
        return Verdict(False, f"the failing job still fails ({_describe(failing)})", failing)
    odd = mismatch(failing.result, [w for w in expected or [] if w is not UNCOMPARED])
    if odd is not None:
        return Verdict(False, f"the failing job now completes, but {odd}", failing)
    checks = dict(variants or {})
    lenient = dict(tolerant or {})
    inputs = list(replay_inputs if max_replays is None else replay_inputs[:max_replays])
    compared = any(w is not UNCOMPARED for w in expected or [])
    requests = [request_template.with_data(d) for d in [*checks.values(), *lenient.values(), *inputs]]
    if compared:
        requests.append(in_far_zone(request_template).with_data(failing_data))
    runs = list(await asyncio.gather(*(backend.run(r) for r in requests)))
    for description, outcome in zip(checks, runs, strict=False):
        if not outcome.ok:
            return Verdict(False, f"the job still fails with {description} ({_describe(outcome)})", failing, runs)
    differing = [(d, o) for d, o in zip(checks, runs, strict=False)
                 if same_answer and _canonical(o.result) != _canonical(failing.result)]
    # Null and absent mean the same to a handler that accepts both: a different answer is the trap fix
    # that turns the null into a default somewhere else (a tier of None, no discount). One re-run of
    # the failing data tells a wrong answer from one that changes every run.
    if differing and await _stable(backend, request_template, failing_data, failing):
        description, outcome = differing[0]
        got, was = redacted_json(outcome.result, QUOTE_CHARS), redacted_json(failing.result, QUOTE_CHARS)
        return Verdict(False, f"the job answers differently with {description}: {got} instead of {was}",
                       failing, runs)
    for description, outcome in zip(lenient, runs[len(checks):], strict=False):
        if _repeats(outcome, failure_type):
            return Verdict(False, f"the job still fails with {description} ({_describe(outcome)})", failing, runs)
    replays = runs[len(checks) + len(lenient):][:len(inputs)]
    wanted = list(expected or [])
    for index, outcome in enumerate(replays, 1):
        if not outcome.ok:
            return Verdict(False, f"regression on replay {index} of {len(replays)} ({_describe(outcome)})",
                           failing, runs, inputs[index - 1])
        want = wanted[index - 1] if index <= len(wanted) else UNCOMPARED
        if want is not UNCOMPARED and _canonical(outcome.result) != _canonical(want):
            got, was = redacted_json(outcome.result, QUOTE_CHARS), redacted_json(want, QUOTE_CHARS)
            return Verdict(False, f"regression on replay {index} of {len(replays)}: an earlier job that worked "
                                  f"now returns {got} instead of {was}", failing, runs, inputs[index - 1])
    if compared:
        zoned = runs[-1]
        if (not zoned.ok or _canonical(zoned.result) != _canonical(failing.result)) and await _stable(
                backend, request_template, failing_data, failing):
            answer = (f"returns {redacted_json(zoned.result, QUOTE_CHARS)} instead of "
                      f"{redacted_json(failing.result, QUOTE_CHARS)}" if zoned.ok else f"fails ({_describe(zoned)})")
            return Verdict(False, "the job's answer depends on the machine's local time zone: with the "
                                  f"zone set to UTC+14 it {answer}", failing, runs)
    done = [f"{len(checks)} variant(s) of its data" if checks else "",
            f"{len(replays)} earlier input(s)" if replays else ""]
    checked = " and ".join(d for d in done if d)
    reason = "the failing job now completes" + (f"; {checked} also succeed" if checked else "")
    if lenient:
        reason += f"; {len(lenient)} tolerant variant(s) do not repeat the failure"
    return Verdict(True, reason, failing, runs)


async def _stable(backend: SandboxBackend, request_template: SandboxRequest, data: dict[str, Any],
                  first: SandboxOutcome) -> bool:
    """Whether ``data`` gives ``first``'s result again (a result holding a clock or a random id does not)."""
    again = await backend.run(request_template.with_data(data))
    return again.ok and _canonical(again.result) == _canonical(first.result)


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
