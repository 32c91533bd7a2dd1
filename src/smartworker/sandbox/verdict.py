"""Running a candidate fix in the sandbox, and the checks on those runs.

A candidate's runs: the failed job's data, its variants (a field the change reads null instead of
absent, or the reverse; a list it reads emptied), the recent successful inputs of the same handler,
and the failed job again on a machine in another time zone. Each check reads them and either finds
a reason to turn the candidate down (a :class:`Finding`: the failing job, a variant or an earlier
job still failing, an answer that follows the time zone) or something for the person to see (a
:class:`Note`: earlier jobs answered differently, a result shaped unlike earlier ones). Which check
vetoes and which informs, and why, is reasoning/gates.py's list. The baseline runs the original
code first so a verdict is never given on a failure the sandbox cannot reproduce.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from smartworker.metrics import gate
from smartworker.redaction import redact, redacted_json
from smartworker.sandbox.base import (
    ABNORMAL_STATUSES,
    SandboxBackend,
    SandboxOutcome,
    SandboxRequest,
    SandboxStatus,
)
from smartworker.sandbox.shape import mismatch
from smartworker.telemetry import traced


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
    check: str = ""  #: the vetoing check that turned the candidate down ("" when fixed)
    notes: list[Note] = field(default_factory=list)  #: what the checks that only inform found

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


def _repeats(outcome: SandboxOutcome, failure_type: str | None, failure_message: str | None = None) -> bool:
    """Whether a tolerant run failed the way the original job did, or did not end inside its limits."""
    if outcome.status in ABNORMAL_STATUSES:
        return True
    if not (outcome.status is SandboxStatus.ERROR and failure_type is not None and outcome.exc_type == failure_type):
        return False
    if failure_message is None:
        return True
    # The same type with another message is another failure: ``max()`` of an emptied list is not the
    # ``strptime`` error the job had. Compared as error signatures (ids and numbers normalised).
    from smartworker.reasoning.signature import error_signature

    return error_signature(failure_type, outcome.message or "") == error_signature(failure_type, failure_message)


#: A result quoted in a regression reason is cut to this many characters.
QUOTE_CHARS = 300

#: An expected replay result that is not compared (the original code did not give a stable one).
UNCOMPARED: Any = object()

#: UTC+14 as a POSIX TZ string (no zoneinfo files needed in the sandbox): a zone no server runs in.
#: A job's answer that changes with it comes from the machine's local time, as ``astimezone()`` on
#: a naive datetime does (a shift of 8.5 hours counted as 7.5).
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
    runs = await backend.run_batch([req.with_data(d) for d in inputs for req in (original, in_far_zone(original))])
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


@dataclass(frozen=True)
class Note:
    """What a check that only informs found: shown to the person reading the record, never a veto."""

    check: str  #: "replay answers" / "result shape"
    reason: str  #: one line
    evidence: Any = None  #: e.g. every changed answer, before and after (redacted)


@dataclass(frozen=True)
class Finding:
    """Why a check that vetoes turns a candidate down."""

    check: str  #: "failing data" / "variants" / "tolerant variants" / "replays" / "time zone"
    reason: str  #: one line
    outcome: SandboxOutcome | None = None  #: the run that showed it
    regressed: dict[str, Any] | None = None  #: the earlier job's data, for a replay that newly fails


@dataclass
class Runs:
    """Every sandbox run of one candidate, in the order ``verify`` documents, and the checks' input."""

    backend: SandboxBackend
    template: SandboxRequest
    failing_data: dict[str, Any]
    failing: SandboxOutcome
    variants: dict[str, SandboxOutcome] = field(default_factory=dict)
    answer_free: frozenset[str] = frozenset()  #: variants that must complete, whatever their answer
    tolerant: dict[str, SandboxOutcome] = field(default_factory=dict)
    inputs: list[dict[str, Any]] = field(default_factory=list)
    replays: list[SandboxOutcome] = field(default_factory=list)
    expected: list[Any] = field(default_factory=list)  #: aligned with ``inputs``; UNCOMPARED or a result
    zoned: SandboxOutcome | None = None  #: the failing data in FAR_ZONE, when any result is compared
    failure_type: str | None = None
    failure_message: str | None = None  #: the original failure's message (None: the type alone decides)
    same_answer: bool = False
    complete: bool = False  #: the runs after the failing data's were made (see run_others)

    @property
    def others(self) -> list[SandboxOutcome]:
        return [*self.variants.values(), *self.tolerant.values(), *self.replays,
                *([self.zoned] if self.zoned is not None else [])]


async def run_failing(backend: SandboxBackend, request_template: SandboxRequest,
                      failing_data: dict[str, Any]) -> Runs:
    """The failed job's data against the candidate: the first run, before any other is worth making."""
    failing = await backend.run(request_template.with_data(failing_data))
    return Runs(backend, request_template, failing_data, failing)


async def run_others(runs: Runs, replay_inputs: Sequence[dict[str, Any]], *,
                     variants: Mapping[str, dict[str, Any]] | None = None,
                     answer_free: Collection[str] = (),
                     tolerant: Mapping[str, dict[str, Any]] | None = None,
                     failure_type: str | None = None, expected: Sequence[Any] | None = None,
                     same_answer: bool = False, failure_message: str | None = None) -> Runs:
    """Every other run (variants, tolerant variants, replays, the far zone), concurrently up to the
    backend's limit; fills ``runs`` and returns it."""
    checks, lenient, inputs = dict(variants or {}), dict(tolerant or {}), list(replay_inputs)
    wanted = list(expected or [])
    compared = any(w is not UNCOMPARED for w in wanted)
    requests = [runs.template.with_data(d) for d in [*checks.values(), *lenient.values(), *inputs]]
    if compared:
        requests.append(in_far_zone(runs.template).with_data(runs.failing_data))
    done = list(await runs.backend.run_batch(requests))
    runs.variants = dict(zip(checks, done[:len(checks)], strict=True))
    runs.tolerant = dict(zip(lenient, done[len(checks):len(checks) + len(lenient)], strict=True))
    runs.inputs = inputs
    runs.replays = done[len(checks) + len(lenient):][:len(inputs)]
    runs.expected = [wanted[i] if i < len(wanted) else UNCOMPARED for i in range(len(inputs))]
    runs.zoned = done[-1] if compared else None
    runs.answer_free = frozenset(answer_free)
    runs.failure_type, runs.failure_message = failure_type, failure_message
    runs.same_answer, runs.complete = same_answer, True
    return runs


def failing_check(runs: Runs) -> Finding | None:
    """VETO: the failed job's own data must now complete."""
    if runs.failing.ok:
        return None
    return Finding("failing data", f"the failing job still fails ({_describe(runs.failing)})", runs.failing)


async def variant_check(runs: Runs) -> Finding | None:
    """VETO: each strict variant completes, and (``same_answer``) gives the failed job's own answer.

    Null and absent mean the same to a handler that accepts both: a different answer is the trap fix
    that turns the null into a default somewhere else (a tier of None, no discount). One re-run of
    the failing data tells a wrong answer from one that changes every run."""
    for description, outcome in runs.variants.items():
        if not outcome.ok:
            return Finding("variants", f"the job still fails with {description} ({_describe(outcome)})", outcome)
    differing = [(d, o) for d, o in runs.variants.items()
                 if runs.same_answer and d not in runs.answer_free
                 and _canonical(o.result) != _canonical(runs.failing.result)]
    if differing and await _stable(runs.backend, runs.template, runs.failing_data, runs.failing):
        description, outcome = differing[0]
        got, was = redacted_json(outcome.result, QUOTE_CHARS), redacted_json(runs.failing.result, QUOTE_CHARS)
        return Finding("variants", f"the job answers differently with {description}: {got} instead of {was}",
                       outcome)
    return None


def tolerant_check(runs: Runs) -> Finding | None:
    """VETO: a tolerant variant must not repeat the original failure (another error is an answer)."""
    for description, outcome in runs.tolerant.items():
        if _repeats(outcome, runs.failure_type, runs.failure_message):
            return Finding("tolerant variants", f"the job still fails with {description} ({_describe(outcome)})",
                           outcome)
    return None


def replay_check(runs: Runs) -> Finding | None:
    """VETO: an earlier job the original code completed must still complete (not raise, not time out)."""
    for index, outcome in enumerate(runs.replays, 1):
        if not outcome.ok:
            return Finding("replays", f"regression on replay {index} of {len(runs.replays)} ({_describe(outcome)})",
                           outcome, runs.inputs[index - 1])
    return None


async def zone_check(runs: Runs) -> Finding | None:
    """VETO: when the original code answers the same in any time zone (a result is compared), the
    failed job must get the same answer in FAR_ZONE too."""
    zoned = runs.zoned
    if zoned is None or (zoned.ok and _canonical(zoned.result) == _canonical(runs.failing.result)):
        return None
    if not await _stable(runs.backend, runs.template, runs.failing_data, runs.failing):
        return None
    answer = (f"returns {redacted_json(zoned.result, QUOTE_CHARS)} instead of "
              f"{redacted_json(runs.failing.result, QUOTE_CHARS)}" if zoned.ok else f"fails ({_describe(zoned)})")
    return Finding("time zone", "the job's answer depends on the machine's local time zone: with the zone set "
                                f"to UTC+14 it {answer}", zoned)


def replay_answers(runs: Runs) -> Note | None:
    """INFORM: earlier jobs that now get another answer than the original code gave them, with both.

    A fix of a bug that also gave some earlier jobs a wrong answer without failing (an off-by-one, a
    wrong rounding) must change those answers; a few earlier results cannot tell that from a new bug.
    """
    changed = []
    for data, outcome, want in zip(runs.inputs, runs.replays, runs.expected, strict=True):
        if outcome.ok and want is not UNCOMPARED and _canonical(outcome.result) != _canonical(want):
            changed.append({"data": redact(data), "before": redact(want), "after": redact(outcome.result)})
    if not changed:
        return None
    after, before = (redacted_json(changed[0][k], QUOTE_CHARS) for k in ("after", "before"))
    return Note("replay answers", f"{len(changed)} of {len(runs.replays)} earlier job(s) get another answer: "
                                  f"e.g. {after} instead of {before}", changed)


def shape_note(runs: Runs) -> Note | None:
    """INFORM: the failed job's result is shaped unlike the results earlier jobs share. Two or three
    earlier results are not a contract (a key their inputs' branch gave them, a date laid out
    another way), so this is shown, not enforced."""
    odd = mismatch(runs.failing.result, [w for w in runs.expected if w is not UNCOMPARED])
    if odd is None:
        return None
    return Note("result shape", odd, {"result": redact(runs.failing.result)})


@gate("sandbox")
async def verify(backend: SandboxBackend, request_template: SandboxRequest, failing_data: dict[str, Any],
                 replay_inputs: Sequence[dict[str, Any]], *, max_replays: int | None = None,
                 variants: Mapping[str, dict[str, Any]] | None = None,
                 tolerant: Mapping[str, dict[str, Any]] | None = None,
                 failure_type: str | None = None, expected: Sequence[Any] | None = None,
                 same_answer: bool = False, answer_free: Collection[str] = ()) -> Verdict:
    """Run the failed job's data, then its ``variants`` (description -> data: the same job in a form
    producers also send, which must complete too), its ``tolerant`` variants (which must only not raise
    ``failure_type``, the original exception type, nor end abnormally) and up to ``max_replays``
    earlier successful inputs, against the candidate in ``request_template.changed_files``; fixed only
    if every vetoing check passes (the same checks, one gate each, as reasoning/gates.py runs them).

    With ``same_answer`` (the variants are the failing data with a field null instead of absent, or
    the reverse) each must also give the failed job's own result, unless that changes from run to run
    or its description is in ``answer_free``. ``expected`` (aligned with ``replay_inputs``; see
    :func:`replay_references`) holds the result the original code gave each replay, or UNCOMPARED: a
    replay that answers differently, and a failed job's result shaped unlike the compared ones
    (:mod:`smartworker.sandbox.shape`), are ``notes``, not vetoes. When at least one result is
    compared, the failed job must get the same answer in FAR_ZONE too. The other runs start only
    once the failing data passes.
    """
    runs = await run_failing(backend, request_template, failing_data)
    found = failing_check(runs)
    if found is not None:
        return Verdict(False, found.reason, runs.failing, check=found.check)
    inputs = list(replay_inputs if max_replays is None else replay_inputs[:max_replays])
    await run_others(runs, inputs, variants=variants, answer_free=answer_free, tolerant=tolerant,
                     failure_type=failure_type, expected=expected, same_answer=same_answer)
    for check in (variant_check, tolerant_check, replay_check, zone_check):
        result = check(runs)
        found = await result if asyncio.iscoroutine(result) else result
        if found is not None:
            return Verdict(False, found.reason, runs.failing, runs.others, found.regressed, check=found.check)
    notes = [n for n in (replay_answers(runs), shape_note(runs)) if n is not None]
    return Verdict(True, passed_reason(runs), runs.failing, runs.others, notes=notes)


def passed_reason(runs: Runs) -> str:
    """One line on what a candidate that passed every vetoing check went through."""
    done = [f"{len(runs.variants)} variant(s) of its data" if runs.variants else "",
            f"{len(runs.replays)} earlier input(s)" if runs.replays else ""]
    checked = " and ".join(d for d in done if d)
    reason = "the failing job now completes" + (f"; {checked} also succeed" if checked else "")
    if runs.tolerant:
        reason += f"; {len(runs.tolerant)} tolerant variant(s) do not repeat the failure"
    return reason


async def _stable(backend: SandboxBackend, request_template: SandboxRequest, data: dict[str, Any],
                  first: SandboxOutcome) -> bool:
    """Whether ``data`` gives ``first``'s result again (a result holding a clock or a random id does not)."""
    again = await backend.run(request_template.with_data(data))
    return again.ok and _canonical(again.result) == _canonical(first.result)


@traced("reproduce")
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
