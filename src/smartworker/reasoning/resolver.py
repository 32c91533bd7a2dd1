"""The repair loop: failure context → memory → LLM → proposed change → sandbox verdict → report.

A verdict is "fixed" only when the failed job itself ran to completion against the change in the
sandbox (and so did its null/absent variants, and recent successful inputs still succeed). An HTTP
200 from anything proves nothing.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from smartworker import keys
from smartworker.config import Settings
from smartworker.errors import (
    JobNotFoundError,
    LLMError,
    LLMUnavailableError,
    ProposalRejectedError,
    SandboxError,
    SandboxUnavailableError,
)
from smartworker.fixes.delivery import deliver
from smartworker.logs import get_logger
from smartworker.memory.interface import FailureMemory
from smartworker.notify.email import EmailNotifier, FixReport
from smartworker.queues import DeadJob, Queues, now_ms
from smartworker.reasoning.context import FailureContext, extract
from smartworker.reasoning.contract import MAX_TOKENS as REVIEW_MAX_TOKENS
from smartworker.reasoning.contract import ContractReview, parse_review, review_messages
from smartworker.reasoning.edits import FileBlock, parse_reply, validate
from smartworker.reasoning.llm import ChatClient, Completion
from smartworker.reasoning.prompt import (
    Feedback,
    MemoryHint,
    RejectedFix,
    fix_messages,
    summary_messages,
    token_estimate,
)
from smartworker.reasoning.records import Candidate, FixRecord, FixRecords, FixStatus
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
from smartworker.sandbox.verdict import ReplayReference, baseline, replay_references, verify

log = get_logger(__name__)

#: How long an in-flight marker protects a resolution from duplicates (it is removed when done).
INFLIGHT_TTL_S = 3600
#: From this candidate on, the model is asked afresh, with the earlier attempts listed by their
#: reasons only. Told in the same conversation what is still wrong, the local 1.5B model sent its
#: previous file back 17 times in 19 (FixBench, session 6); without its old code in front of it,
#: the fourth candidate is a new attempt instead of a copy. Candidates 2 and 3 stay in the
#: conversation, where the model's few corrections of its own change were found.
FRESH_FROM = 4
#: Tail of sandbox output kept in a record.
TAIL = 2000


@dataclass(frozen=True)
class Target:
    """The code a resolution works on."""

    app_root: Path
    app_module: str
    hazard_testing: bool = False


@dataclass
class Resolution:
    """What the core loop produced, before it is reported."""

    fixed: bool
    reason: str
    diff: str = ""
    files: dict[str, str] = field(default_factory=dict)
    summary: str = ""


def restore_redacted(content: str, sources_sent: dict[str, str], originals: dict[str, str], path: str) -> str:
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


def _outcome_view(outcome: SandboxOutcome) -> dict[str, Any]:
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


class Resolver:
    """Runs resolutions; one instance per process, shared by the reasoning worker, API and CLI."""

    def __init__(self, settings: Settings, queues: Queues, *, llm: ChatClient | None, sandbox: SandboxBackend,
                 notifier: EmailNotifier, memory: FailureMemory | None = None) -> None:
        self.settings = settings
        self.queues = queues
        self.llm = llm
        self.sandbox = sandbox
        self.notifier = notifier
        self.memory = memory
        self.records = FixRecords(queues.redis)

    # -- entry points -----------------------------------------------------------------------------
    async def remember(self, dlq_id: str) -> None:
        """Store a dead job's failure in memory (every final failure goes there)."""
        if self.memory is None:
            return
        dead = await self._dead(dlq_id)
        await self.memory.remember_failure(self.context(dead))

    async def resolve(self, dlq_id: str) -> FixRecord:
        """Resolve one dead job end to end and return its fix record."""
        dead = await self._dead(dlq_id)
        ctx = self.context(dead)
        record = FixRecord.new(dlq_id, dead.queue, dead.job_id, dead.name)
        record.signature = ctx.signature
        marker = keys.fix_inflight(dead.name, ctx.signature_hash)
        if not await self.queues.redis.set(marker, record.id, nx=True, ex=INFLIGHT_TTL_S):
            return await self._attach(record, marker)
        patch = ""
        try:
            await self.records.save(record)
            target = Target(self.settings.app_root, self.settings.app_module, self.settings.hazard_testing)
            replays = await self.replay_inputs(dead.name)
            if self.memory is not None:
                await self.memory.remember_failure(ctx)
            self.sandbox.check()  # no fix can be verified without it: an error, not "not fixed"
            result = await self.run(ctx, dead.data, record, target=target, replay_inputs=replays)
            if result.fixed:  # a branch and a patch for people to review (fixes/delivery.py)
                patch = await deliver(self.settings, self.queues.redis, record, result.files)
            if result.fixed and self.memory is not None:
                await self.memory.remember_resolution(dead.queue, dead.job_id, result.summary, result.diff)
        except SandboxUnavailableError as exc:
            record.status, record.reason = FixStatus.ERROR, f"sandbox unavailable: {exc.message}"
        except LLMUnavailableError:
            # An outage, not this job's failure: say so in the record, email nobody (the outage has
            # one alert), and let the caller hold the resolution back until the LLM answers.
            record.status, record.reason, record.finished_on = FixStatus.ERROR, "llm unavailable", now_ms()
            await self.records.save(record)
            raise
        except Exception as exc:
            # The resolution broke (not the candidate): keep the record and say why.
            log.exception("resolution failed", fix_id=record.id)
            record.status, record.reason = FixStatus.ERROR, f"{type(exc).__name__}: {exc}"
        finally:
            await self.queues.redis.delete(marker)
        record.finished_on = now_ms()
        await self.records.save(record)  # stored before anyone is told
        record.emailed = await self.notifier.notify(self._report(record, patch))
        await self.records.save(record)
        log.info("resolution finished", fix_id=record.id, status=record.status.value, reason=record.reason)
        return record

    def context(self, dead: DeadJob) -> FailureContext:
        """The structured, redacted failure context of a dead job."""
        return extract(queue=dead.queue, job_id=dead.job_id, job_name=dead.name, attempts=dead.attempts_made,
                       data=dead.data, opts=dead.opts, failed_reason=dead.failed_reason,
                       stacktrace=dead.stacktrace, app_root=self.settings.app_root)

    async def replay_inputs(self, job_name: str) -> list[dict[str, Any]]:
        """Recent successful inputs of the handler, for the regression replay."""
        k = self.settings.sandbox_replay_k
        if k == 0:
            return []
        raw = await self.queues.redis.lrange(keys.recent_completed(self.queues.names.main, job_name), 0, k - 1)
        return [json.loads(item) for item in raw]

    # -- the loop ---------------------------------------------------------------------------------
    async def run(self, ctx: FailureContext, data: dict[str, Any], record: FixRecord, *, target: Target,
                  replay_inputs: list[dict[str, Any]]) -> Resolution:
        """Propose, verify and (on success) summarise; fills ``record`` as it goes."""
        template = SandboxRequest(app_root=target.app_root, app_module=target.app_module, handler=ctx.job_name,
                                  data=data, job_id=ctx.job_id, queue=ctx.queue, attempt=ctx.attempts,
                                  hazard_testing=target.hazard_testing)
        result = await self._loop(ctx, data, record, template, replay_inputs)
        record.status = FixStatus.FIXED if result.fixed else FixStatus.NOT_FIXED
        record.reason = result.reason
        record.diff = result.diff
        if result.fixed:
            result.summary = await self._summarise(ctx, result.diff, record)
            record.summary = result.summary
        return result

    async def _loop(self, ctx: FailureContext, data: dict[str, Any], record: FixRecord,
                    template: SandboxRequest, replay_inputs: list[dict[str, Any]]) -> Resolution:
        base = await baseline(self.sandbox, template, data)
        if not base.reproduced:
            return Resolution(False, base.reason)
        if self.llm is None:
            return Resolution(False, "no LLM configured (AI_SERVICE_URL, or install the local model)")
        hint = await self._memory_hint(ctx, record)
        rejected = await self._rejected(ctx)
        originals = self._originals(target_root=template.app_root, paths=list(ctx.sources))
        references = await replay_references(self.sandbox, template, replay_inputs[:self.settings.sandbox_replay_k])
        if not self.settings.sandbox_replay_compare:
            references = [ReplayReference(r.data) for r in references]
        feedback: Feedback | None = None
        last_reason = "no candidate was tried"
        best_diff = ""
        earlier_data = [r.data for r in references]
        for index in range(1, self.settings.ai_candidates + 1):
            if index >= FRESH_FROM:
                messages = fix_messages(ctx, memory=hint, values=base.outcome.values,
                                        earlier=[_why_not(c) for c in record.candidates],
                                        earlier_data=earlier_data, rejected=rejected)
            else:
                messages = fix_messages(ctx, memory=hint, feedback=feedback, values=base.outcome.values,
                                        earlier_data=earlier_data, rejected=rejected)
            spent = record.prompt_tokens + record.completion_tokens
            if spent + token_estimate(messages) > self.settings.ai_token_budget:
                last_reason = f"token budget of {self.settings.ai_token_budget} spent after {index - 1} candidates"
                break
            candidate = Candidate(index=index)
            record.candidates.append(candidate)
            completion = await self._ask(messages, index, candidate, record)
            if completion is None:
                last_reason = candidate.rejected or "LLM failed"
                await self.records.save(record)
                continue
            try:
                blocks = parse_reply(completion.text, default_path=self._default_path(ctx))
                blocks = [FileBlock(b.path, restore_redacted(b.content, ctx.sources, originals, b.path))
                          for b in blocks]
                proposal = validate(blocks, template.app_root)
            except ProposalRejectedError as exc:
                candidate.rejected = exc.message
                last_reason = f"candidate {index} rejected: {exc.message}"
                feedback = Feedback(completion.text, f"it was rejected: {exc.message}")
                await self.records.save(record)
                continue
            candidate.diff = proposal.diff()
            # A handler that swallows the failure stops the crash, so the sandbox would pass it; so
            # does a codec told to drop what it cannot read, dropping a step the code took,
            # skipping the failing line for this data, or ignoring an input the docstring names.
            hidden = (hidden_error(proposal.originals, proposal.files, ctx.exception_type)
                      or lossy_codec(proposal.originals, proposal.files, ctx.exception_type)
                      or dropped_call(proposal.originals, proposal.files)
                      or skipped_line(proposal.originals, proposal.files, ctx.failing_code)
                      or ignored_input({**originals, **proposal.files}, ctx.data))
            if hidden is not None:
                candidate.rejected = hidden
                last_reason = f"candidate {index} rejected: {hidden}"
                feedback = Feedback(completion.text, f"it was rejected: {hidden}")
                await self.records.save(record)
                continue
            best_diff = best_diff or candidate.diff
            started = time.monotonic()
            try:
                strict, tolerant = self._variants(ctx, data, candidate.diff)
                verdict = await verify(self.sandbox, _with_files(template, proposal.files), data,
                                       [r.data for r in references], variants=strict, tolerant=tolerant,
                                       failure_type=ctx.exception_type or None,
                                       expected=[r.result for r in references], same_answer=True)
            except SandboxError as exc:
                candidate.verdict = f"not fixed: sandbox error: {exc}"
                last_reason = candidate.verdict
                await self.records.save(record)
                continue
            candidate.sandbox_s = round(time.monotonic() - started, 3)
            candidate.outcome = _outcome_view(verdict.failing)
            candidate.replays = [_outcome_view(o) for o in verdict.replays]
            candidate.verdict = "fixed" if verdict.fixed else f"not fixed: {verdict.reason}"
            await self.records.save(record)
            if verdict.fixed:
                review = await self._review(proposal.files, ctx.data, verdict.failing.result, candidate, record)
                if review.accepted is not False:
                    return Resolution(True, f"candidate {index}: {verdict.reason}", candidate.diff, proposal.files)
                wrong = f"the job completes, but a review says its result breaks the docstring: {review.reason}"
                candidate.verdict = f"not fixed: {wrong}"
                await self.records.save(record)
                last_reason = f"candidate {index}: {wrong}"
                feedback = Feedback(completion.text, wrong, _returned(verdict.failing))
                continue
            last_reason = f"candidate {index}: {verdict.reason}"
            failing = next((o for o in verdict.runs if not o.ok), None)
            broken = _broken_job(verdict.regressed)
            if failing is None:  # every run completed; a result was wrong (its shape, or a replay's value)
                feedback = Feedback(completion.text, verdict.reason, _returned(verdict.failing) + broken)
                continue
            details = redact_text(failing.traceback or failing.reason)
            feedback = Feedback(completion.text, verdict.reason, details + broken, failing.values)
        return Resolution(False, last_reason, best_diff)

    async def _ask(self, messages: list[dict[str, str]], index: int, candidate: Candidate,
                   record: FixRecord) -> Completion | None:
        assert self.llm is not None
        # Later candidates sample hotter: the same prompt at the same temperature tends to repeat itself.
        temperature = min(1.0, self.settings.ai_temperature + 0.3 * (index - 1))
        started = time.monotonic()
        try:
            completion = await self.llm.complete(messages, temperature=temperature, seed=self.settings.ai_seed + index)
        except LLMError as exc:
            candidate.rejected = f"LLM: {exc.message}"
            candidate.llm_s = round(time.monotonic() - started, 3)
            return None
        candidate.llm_s = round(completion.duration_s, 3)
        candidate.prompt_tokens = completion.prompt_tokens
        candidate.completion_tokens = completion.completion_tokens
        record.prompt_tokens += completion.prompt_tokens
        record.completion_tokens += completion.completion_tokens
        record.llm_calls += 1
        return completion

    async def _review(self, files: dict[str, str], data: dict[str, Any], result: Any, candidate: Candidate,
                      record: FixRecord) -> ContractReview:
        """The contract review of a verified candidate; a failed call leaves the verdict standing."""
        if self.llm is None or not self.settings.ai_output_review:
            return ContractReview(None, "")
        if redact(result) != result:
            # The model would judge "[REDACTED]" instead of the real value, and say NO to a right answer.
            candidate.review = "skipped: the result holds values redacted before any LLM sees them"
            return ContractReview(None, "")
        try:
            completion = await self.llm.complete(review_messages(files, data, result), temperature=0.0,
                                                 max_tokens=REVIEW_MAX_TOKENS, seed=1)
        except LLMError as exc:
            log.warning("no contract review for a verified candidate", fix_id=record.id, error=exc.message)
            return ContractReview(None, "")
        record.prompt_tokens += completion.prompt_tokens
        record.completion_tokens += completion.completion_tokens
        record.llm_calls += 1
        review = parse_review(completion.text)
        answer = {True: "yes", False: "no", None: "unreadable"}[review.accepted]
        candidate.review = f"{answer}: {review.reason}" if review.reason else answer
        return review

    async def _summarise(self, ctx: FailureContext, diff: str, record: FixRecord) -> str:
        if self.llm is None:
            return ""
        try:
            completion = await self.llm.complete(summary_messages(ctx.signature, diff), temperature=0.1,
                                                 max_tokens=200)
        except LLMError as exc:
            log.warning("no summary for a verified fix", fix_id=record.id, error=exc.message)
            return ""
        record.prompt_tokens += completion.prompt_tokens
        record.completion_tokens += completion.completion_tokens
        record.llm_calls += 1
        return redact_text(completion.text.strip())[:2000]

    async def _memory_hint(self, ctx: FailureContext, record: FixRecord) -> MemoryHint | None:
        if self.memory is None:
            return None
        try:
            found = await self.memory.search(ctx)
        except Exception as exc:  # memory is an aid; a resolution goes on without it
            log.warning("memory search failed", error=str(exc))
            return None
        winner = found.winner
        if winner is None or not winner.failure.resolution_diff:
            return None
        record.memory = {"failure_id": winner.failure.id, "similarity": round(winner.similarity, 4),
                         "votes": winner.votes, "signature": winner.failure.signature}
        return MemoryHint(winner.failure.signature, winner.failure.resolution_summary or "",
                          winner.failure.resolution_diff, winner.similarity)

    async def _rejected(self, ctx: FailureContext) -> list[RejectedFix]:
        """Fixes people rejected for this handler and signature (memory.remember_rejection)."""
        if self.memory is None:
            return []
        try:
            found: list[RejectedFix] = await self.memory.rejected_fixes(ctx.job_name, ctx.signature)
        except Exception as exc:  # memory is an aid; a resolution goes on without it
            log.warning("rejected fixes not read", error=str(exc))
            return []
        return found

    # -- helpers ----------------------------------------------------------------------------------
    async def _dead(self, dlq_id: str) -> DeadJob:
        dead = await self.queues.dead_job(dlq_id)
        if dead is None:
            raise JobNotFoundError(f"DLQ job {dlq_id!r} not found")
        return dead

    async def _attach(self, record: FixRecord, marker: str) -> FixRecord:
        raw = await self.queues.redis.get(marker)
        owner = raw.decode() if isinstance(raw, bytes) else raw
        record.status = FixStatus.ATTACHED
        record.attached_to = str(owner) if owner else None
        record.reason = f"an identical failure is already being resolved (fix {owner})"
        record.finished_on = now_ms()
        if owner:
            await self.records.attach(owner, record.dlq_id)
        await self.records.save(record)
        return record

    @staticmethod
    def _originals(target_root: Path, paths: list[str]) -> dict[str, str]:
        out: dict[str, str] = {}
        for rel in paths:
            try:
                out[rel] = (target_root / rel).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                continue
        return out

    def _variants(self, ctx: FailureContext, data: dict[str, Any], diff: str
                  ) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
        """The failing data in its other missing-value forms (strict: must complete, with the same
        answer) and with a list this candidate reads emptied (tolerant: must not repeat the failure;
        none when the failure was the handler's own ``raise``), each as description -> data."""
        if not self.settings.sandbox_variants:
            return {}, {}
        code = ctx.failing_code
        touched, nearby = touched_fields(diff, code), nearby_fields(diff, code)
        strict = missing_value_variants(data, touched, nearby)
        tolerant = [] if deliberate_failure(code) else empty_collection_variants(data, touched, nearby)
        return {v.description: v.data for v in strict}, {v.description: v.data for v in tolerant}

    @staticmethod
    def _default_path(ctx: FailureContext) -> str | None:
        loc = ctx.failing_location
        return loc.path if loc is not None else (next(iter(ctx.sources), None))

    def _report(self, record: FixRecord, patch: str = "") -> FixReport:
        return FixReport(fix_id=record.id, fixed=record.fixed, job_name=record.job_name, job_id=record.job_id,
                         queue=record.queue, signature=record.signature, reason=record.reason, diff=record.diff,
                         summary=record.summary, candidates=len(record.candidates), patch=patch,
                         branch=record.review.branch if record.review else None)


def _why_not(candidate: Candidate) -> str:
    """One line on why an earlier candidate was not taken, for a fresh ask."""
    reason = candidate.rejected or candidate.verdict or "no verdict"
    return reason.removeprefix("not fixed: ")


def _broken_job(data: dict[str, Any] | None) -> str:
    """The data of an earlier job a candidate broke, redacted, for the retry: the failing job's data
    is in the first prompt, but without this one the model cannot see what the two have apart (a
    webhook fixed for ``amount_received`` broke one that sends ``amount``: FixBench, session 10)."""
    if data is None:
        return ""
    shown = json.dumps(redact(data), indent=2, default=str, ensure_ascii=False)[:TAIL]
    return f"\n\nThat earlier job succeeded before your change; its data:\n```json\n{shown}\n```"


def _returned(outcome: SandboxOutcome) -> str:
    """What the job returned, redacted and capped: the evidence sent back with a result judged wrong."""
    return "The job returned: " + json.dumps(redact(outcome.result), default=str)[:TAIL]


def _with_files(template: SandboxRequest, files: dict[str, str]) -> SandboxRequest:
    return replace(template, changed_files=dict(files))
