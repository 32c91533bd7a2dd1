"""Everything a candidate fix must pass, as one ordered list of gates.

A candidate is the model's reply for one failed job. It goes through :data:`GATES` in order; each
gate answers with :class:`Passed` or with a :class:`Rejection` (the gate's name, a one-line reason
for the model, evidence for the record). Every gate has a policy:

- **veto**: a rejection turns the candidate down; its reason goes back to the model for the next
  try, and the gates after it do not run. Only evidence that holds for any handler vetoes: the
  reply is no change inside the application; a new ``except`` that swallows the very failure; a
  codec told to drop what it cannot read; the failing line skipped for this data; the failing job
  (or its null/absent form, or an emptied list it reads) still failing; an earlier job that
  completed now failing; the answer following the machine's time zone.
- **inform**: a rejection is recorded for the person who reviews the fix, and never sent back to
  the model as an instruction. Used where the evidence is weak: a few earlier results (their
  answers, their shared shape) are not a contract, and a fix of a bug that also gave earlier jobs
  a wrong answer must change those answers; a method the code no longer calls is what every API
  migration and rewrite does; a docstring may name a key the code deliberately ignores; the
  contract review is a small model judging its own result, and says NO to right answers.

Per gate, the policy and its reason are in :data:`GATES`. :func:`judge` runs them and returns every
gate's outcome (for the fix record, one row per gate) and the vetoing rejection, if any.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from smartworker.errors import ProposalRejectedError
from smartworker.metrics import gate as metered_gate
from smartworker.reasoning.context import FailureContext
from smartworker.reasoning.contract import ContractReview
from smartworker.reasoning.edits import FileBlock, Proposal, parse_reply, validate
from smartworker.reasoning.review import dropped_call, hidden_error, ignored_input, lossy_codec, skipped_line
from smartworker.reasoning.variants import (
    deliberate_failure,
    empty_collection_variants,
    missing_value_variants,
    nearby_fields,
    touched_fields,
)
from smartworker.redaction import redact, redact_text
from smartworker.sandbox.base import SandboxBackend, SandboxOutcome, SandboxRequest
from smartworker.sandbox.verdict import (
    UNCOMPARED,
    Finding,
    Note,
    ReplayReference,
    Runs,
    failing_check,
    replay_answers,
    replay_check,
    run_failing,
    run_others,
    shape_note,
    tolerant_check,
    variant_check,
    zone_check,
)

#: Tail of sandbox output kept in a record, and of a result or job data fed back.
TAIL = 2000


class Policy(StrEnum):
    """What a gate's rejection does."""

    VETO = "veto"  #: turns the candidate down; the reason goes back to the model
    INFORM = "inform"  #: recorded and shown to the person; the candidate goes on


@dataclass(frozen=True)
class Rejection:
    """A gate's "no": the same value from every gate."""

    gate: str
    reason: str  #: one line, for the model (a veto) or the person (an inform)
    evidence: Any = None  #: for the record: a run, the changed answers, the review's words
    details: str = ""  #: more for the model's next try: a traceback, a broken job's data, a result
    values: Mapping[str, str] = field(default_factory=dict)  #: the failing line's values in that run


@dataclass(frozen=True)
class Passed:
    """A gate's "yes" (or, with ``skipped``, a gate that had nothing to judge)."""

    reason: str = ""
    skipped: bool = False


@dataclass
class Trial:
    """One candidate on its way through the gates: what they read, and what earlier gates leave."""

    ctx: FailureContext
    reply: str  #: the model's answer
    template: SandboxRequest  #: the failed job's request, without changed files
    data: dict[str, Any]  #: the failed job's data (unredacted: it runs in the sandbox)
    originals: dict[str, str]  #: relative path -> the application's source, unredacted
    references: list[ReplayReference]  #: earlier successful jobs, as the original code answers them
    sandbox: SandboxBackend
    variants: bool = True  #: SANDBOX_VARIANTS
    original: SandboxOutcome | None = None  #: the original code's run on the failing data (the baseline)
    #: asks the contract review of a result (None: no review configured)
    review: Callable[[dict[str, str], Any], Awaitable[ContractReview]] | None = None
    proposal: Proposal | None = None  #: set by the reply gate
    runs: Runs | None = None  #: set by the sandbox gates

    @property
    def files(self) -> dict[str, str]:
        assert self.proposal is not None, "the reply gate runs first"
        return self.proposal.files


Check = Callable[[Trial], Awaitable["Rejection | Passed"]]


@dataclass(frozen=True)
class Gate:
    """One check, its policy, and why it has that policy."""

    name: str
    policy: Policy
    why: str
    check: Check


# -- the reply --------------------------------------------------------------------------------------


def restore_redacted(content: str, sources_sent: Mapping[str, str], originals: Mapping[str, str], path: str) -> str:
    """Put back lines we redacted before sending the code, where the model copied them unchanged.

    Without this, a file holding (say) a hard-coded token would come back with ``[REDACTED]`` in it.
    """
    sent, original = sources_sent.get(path), originals.get(path)
    if not sent or original is None or sent == original:
        return content
    mapping = {s: o for s, o in zip(sent.splitlines(), original.splitlines(), strict=False) if s != o}
    if not mapping:
        return content
    return "\n".join(mapping.get(line, line) for line in content.splitlines()) + (
        "\n" if content.endswith("\n") else "")


def _default_path(ctx: FailureContext) -> str | None:
    loc = ctx.failing_location
    return loc.path if loc is not None else (next(iter(ctx.sources), None))


async def _reply(trial: Trial) -> Rejection | Passed:
    try:
        blocks = parse_reply(trial.reply, default_path=_default_path(trial.ctx))
        blocks = [FileBlock(b.path, restore_redacted(b.content, trial.ctx.sources, trial.originals, b.path))
                  for b in blocks]
        trial.proposal = validate(blocks, trial.template.app_root)
    except ProposalRejectedError as exc:
        return Rejection("reply", f"it was rejected: {exc.message}")
    return Passed(f"{len(trial.proposal.changed_paths)} file(s) changed inside the application")


# -- static checks ------------------------------------------------------------------------------------


def _static(name: str, find: Callable[[Trial], str | None]) -> Check:
    async def check(trial: Trial) -> Rejection | Passed:
        found = find(trial)
        return Passed() if found is None else Rejection(name, f"it was rejected: {found}", found)
    return check


def _hidden_error(trial: Trial) -> str | None:
    assert trial.proposal is not None
    return hidden_error(trial.proposal.originals, trial.files, trial.ctx.exception_type)


def _lossy_codec(trial: Trial) -> str | None:
    assert trial.proposal is not None
    return lossy_codec(trial.proposal.originals, trial.files, trial.ctx.exception_type)


def _skipped_line(trial: Trial) -> str | None:
    assert trial.proposal is not None
    return skipped_line(trial.proposal.originals, trial.files, trial.ctx.failing_code)


def _dropped_call(trial: Trial) -> str | None:
    assert trial.proposal is not None
    return dropped_call(trial.proposal.originals, trial.files)


def _ignored_input(trial: Trial) -> str | None:
    return ignored_input({**trial.originals, **trial.files}, trial.ctx.data)


# -- the sandbox --------------------------------------------------------------------------------------


def outcome_view(outcome: SandboxOutcome) -> dict[str, Any]:
    """A sandbox run as a record keeps it: status, tails and time, redacted."""
    return {
        "status": outcome.status.value,
        "reason": redact_text(outcome.reason),
        "exit_code": outcome.exit_code,
        "exc_type": outcome.exc_type,
        "stdout_tail": redact_text(outcome.stdout_tail[-TAIL:]),
        "stderr_tail": redact_text(outcome.stderr_tail[-TAIL:]),
        "traceback": redact_text((outcome.traceback or "")[-TAIL:]),
        "duration_s": round(outcome.duration_s, 3),
    }


def returned(outcome: SandboxOutcome) -> str:
    """What the job returned, redacted and capped: the evidence sent back with a result judged wrong."""
    return "The job returned: " + json.dumps(redact(outcome.result), default=str)[:TAIL]


def broken_job(data: dict[str, Any] | None) -> str:
    """The data of an earlier job a candidate broke, redacted, for the retry: the failing job's data is
    in the first prompt, but without this one the model cannot see what the two have apart."""
    if data is None:
        return ""
    shown = json.dumps(redact(data), indent=2, default=str, ensure_ascii=False)[:TAIL]
    return f"\n\nThat earlier job succeeded before your change; its data:\n```json\n{shown}\n```"


def _vetoed(found: Finding | None, runs: Runs) -> Rejection | Passed:
    if found is None:
        return Passed()
    outcome = found.outcome or runs.failing
    if outcome.ok:  # it completed, with a wrong answer: the answer is the evidence
        details = returned(outcome if found.check == "variants" else runs.failing)
        values: Mapping[str, str] = {}
    else:
        details, values = redact_text(outcome.traceback or outcome.reason), outcome.values
    return Rejection(found.check, found.reason, outcome_view(outcome), details + broken_job(found.regressed),
                     values)


def _noted(note: Note | None) -> Rejection | Passed:
    return Passed() if note is None else Rejection(note.check, note.reason, note.evidence)


async def _failing_data(trial: Trial) -> Rejection | Passed:
    trial.runs = await run_failing(trial.sandbox, replace(trial.template, changed_files=dict(trial.files)), trial.data)
    return _vetoed(failing_check(trial.runs), trial.runs)


def _variant_sets(trial: Trial) -> tuple[dict[str, dict[str, Any]], set[str], dict[str, dict[str, Any]]]:
    """The failing data in its other missing-value forms (strict: must complete, most with the same
    answer) and with a list the candidate reads emptied (tolerant: must not repeat the failure;
    none when the failure was the handler's own ``raise``), each as description -> data."""
    if not trial.variants or trial.proposal is None:
        return {}, set(), {}
    code, diff = trial.ctx.failing_code, trial.proposal.diff()
    touched, nearby = touched_fields(diff, code), nearby_fields(diff, code)
    missing = missing_value_variants(trial.data, touched, nearby)
    strict = [v for v in missing if v.strict]
    tolerant = [v for v in missing if not v.strict]
    if not deliberate_failure(code):
        tolerant += empty_collection_variants(trial.data, touched, nearby)
    return ({v.description: v.data for v in strict}, {v.description for v in strict if not v.same_answer},
            {v.description: v.data for v in tolerant})


async def _others(trial: Trial) -> Runs:
    """Every run after the failing data's, made once, at the first gate that needs them."""
    assert trial.runs is not None, "the failing-data gate runs first"
    if not trial.runs.complete:
        strict, free, tolerant = _variant_sets(trial)
        await run_others(trial.runs, [r.data for r in trial.references], variants=strict, answer_free=free,
                         tolerant=tolerant, failure_type=trial.ctx.exception_type or None,
                         failure_message=trial.original.message if trial.original is not None else None,
                         expected=[r.result for r in trial.references], same_answer=True)
    return trial.runs


async def _variants(trial: Trial) -> Rejection | Passed:
    runs = await _others(trial)
    return _vetoed(await variant_check(runs), runs) if runs.variants else Passed(skipped=True)


async def _tolerant(trial: Trial) -> Rejection | Passed:
    runs = await _others(trial)
    return _vetoed(tolerant_check(runs), runs) if runs.tolerant else Passed(skipped=True)


async def _replays(trial: Trial) -> Rejection | Passed:
    runs = await _others(trial)
    if not runs.replays:
        return Passed("no earlier job to replay", skipped=True)
    return _vetoed(replay_check(runs), runs)


async def _time_zone(trial: Trial) -> Rejection | Passed:
    runs = await _others(trial)
    return _vetoed(await zone_check(runs), runs) if runs.zoned is not None else Passed(skipped=True)


async def _replay_answers(trial: Trial) -> Rejection | Passed:
    runs = await _others(trial)
    if not any(w is not UNCOMPARED for w in runs.expected):
        return Passed(skipped=True)
    return _noted(replay_answers(runs))


async def _result_shape(trial: Trial) -> Rejection | Passed:
    return _noted(shape_note(await _others(trial)))


# -- the contract review --------------------------------------------------------------------------------


async def _contract_review(trial: Trial) -> Rejection | Passed:
    if trial.review is None or trial.runs is None:
        return Passed(skipped=True)
    result = trial.runs.failing.result
    if redact(result) != result:
        # The model would judge "[REDACTED]" instead of the real value, and say NO to a right answer.
        return Passed("the result holds values redacted before any LLM sees them", skipped=True)
    review = await trial.review(trial.files, result)
    if review.accepted is None:
        return Passed("no readable answer", skipped=True)
    if review.accepted:
        return Passed(review.reason)
    return Rejection("contract review", f"a review says the result breaks the docstring: {review.reason}",
                     {"answer": "no", "reason": review.reason})


#: Every gate, in the order a candidate meets them.
GATES: tuple[Gate, ...] = (
    Gate("reply", Policy.VETO, "a reply that is no change inside the application cannot be run at all",
         _reply),
    Gate("hidden error", Policy.VETO,
         "a new except that catches the failure and only passes, logs or returns a constant stops the crash "
         "without handling the data; a widened handler of the code's own keeps its fallback and passes",
         _static("hidden error", _hidden_error)),
    Gate("lossy codec", Policy.VETO,
         "a lossy codec error handler on a Unicode failure drops the characters it could not read",
         _static("lossy codec", _lossy_codec)),
    Gate("skipped line", Policy.VETO,
         "the failing line unchanged under a new if, or after a new continue, leaves out its effect for "
         "this job: the failure is avoided, not fixed",
         _static("skipped line", _skipped_line)),
    Gate("dropped call", Policy.INFORM,
         "replacing the call that failed (an API migration, a rewrite) is what many right fixes do; a "
         "step no longer taken is worth a person's look, not a veto",
         _static("dropped call", _dropped_call)),
    Gate("ignored input", Policy.INFORM,
         "a docstring may name a key the code deliberately ignores; worth a look, not a veto",
         _static("ignored input", _ignored_input)),
    Gate("failing data", Policy.VETO, "the failed job's own data must complete: the failure itself",
         _failing_data),
    Gate("variants", Policy.VETO,
         "producers send null and absent for the same meaning: for every key the change reads, the other "
         "form must complete too, with the same answer where the variant is certain",
         _variants),
    Gate("tolerant variants", Policy.VETO,
         "an emptied list the change reads may be refused with another error, but not the original one",
         _tolerant),
    Gate("replays", Policy.VETO,
         "an earlier job the original code completed must still complete: a new failure is a regression "
         "whatever its answer was", _replays),
    Gate("time zone", Policy.VETO,
         "the same job on a machine in another time zone must get the same answer when the original code's "
         "answers do not depend on it", _time_zone),
    Gate("replay answers", Policy.INFORM,
         "a fix may rightly change answers the bug got wrong without failing; the diff is shown to the person",
         _replay_answers),
    Gate("result shape", Policy.INFORM,
         "two or three earlier results are not a contract: keys their inputs' branch gave them, another "
         "layout of a date or id", _result_shape),
    Gate("contract review", Policy.INFORM,
         "a small model judging its own result says NO to right answers; its answer is shown, not enforced",
         _contract_review),
)


def outcome_row(gate: Gate, answer: Rejection | Passed | None) -> dict[str, Any]:
    """One gate's outcome as a fix record lists it (None: the gate did not run)."""
    row: dict[str, Any] = {"name": gate.name, "policy": gate.policy.value}
    if answer is None:
        row.update(outcome="not run", reason="an earlier gate turned the candidate down")
    elif isinstance(answer, Passed):
        row.update(outcome="skipped" if answer.skipped else "passed", reason=answer.reason)
    else:
        row.update(outcome="failed", reason=redact_text(answer.reason), evidence=redact(answer.evidence))
    return row


#: The gates that run the candidate in the sandbox: metrics and traces see them as one gate,
#: ``sandbox``, beside the static ones (``metrics.gate`` on their functions).
SANDBOX_GATES = frozenset({"failing data", "variants", "tolerant variants", "replays", "time zone"})


async def judge(trial: Trial, gates: tuple[Gate, ...] = GATES) -> tuple[list[dict[str, Any]], Rejection | None]:
    """Run ``gates`` in order; returns every gate's outcome row and the vetoing rejection (None: the
    candidate passed every veto; inform rejections are in the rows)."""
    rows: list[dict[str, Any]] = []
    position = 0
    while position < len(gates):
        gate = gates[position]
        if gate.name in SANDBOX_GATES:
            group = list(itertools.takewhile(lambda g: g.name in SANDBOX_GATES, gates[position:]))
            answers: list[Rejection | Passed] = list(await _sandbox_group(trial, tuple(group)))
        else:
            group, answers = [gate], [await gate.check(trial)]
        for offset, (member, answer) in enumerate(zip(group, answers, strict=False)):
            rows.append(outcome_row(member, answer))
            if isinstance(answer, Rejection) and member.policy is Policy.VETO:
                rows += [outcome_row(g, None) for g in gates[position + offset + 1:]]
                return rows, answer
        position += len(group)
    return rows, None


@metered_gate("sandbox")
async def _sandbox_group(trial: Trial, group: tuple[Gate, ...]) -> SandboxGroup:
    """The sandbox gates in order, up to the first veto."""
    answers: list[Rejection | Passed] = []
    for member in group:
        answers.append(await member.check(trial))
        if isinstance(answers[-1], Rejection) and member.policy is Policy.VETO:
            break
    return SandboxGroup(answers)


class SandboxGroup(list[Rejection | Passed]):
    """The sandbox gates' answers; ``fixed`` (what ``metrics.gate`` reads) is False after a veto."""

    @property
    def fixed(self) -> bool:
        return not any(isinstance(a, Rejection) for a in self)
