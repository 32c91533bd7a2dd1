"""The repair loop: failure context → triage → memory → ask → gates → feedback → report.

Triage first (reasoning/triage.py): a failure that is no code bug (invalid input, outside the
application, not reproducible) ends as abstained, and no model is asked. Then each candidate is
asked for, goes through every gate (reasoning/gates.py), and a veto's reason is fed back for the
next. When the first model's candidates give no verified fix, the escalation model (AI_ESCALATION_*)
goes on in the same loop with what was learnt. A verdict is "fixed" only when the failed job itself
ran to completion against the change in the sandbox and every vetoing gate passed. An HTTP 200
from anything proves nothing.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from smartworker import keys
from smartworker.config import Settings
from smartworker.errors import (
    JobNotFoundError,
    LLMError,
    LLMUnavailableError,
    SandboxError,
    SandboxUnavailableError,
)
from smartworker.fixes.delivery import deliver
from smartworker.logs import get_logger
from smartworker.memory.interface import FailureMemory
from smartworker.metrics import observed_resolution
from smartworker.notify.email import EmailNotifier, FixReport
from smartworker.queues import DeadJob, Queues, now_ms
from smartworker.reasoning import progress
from smartworker.reasoning.context import FailureContext, extract
from smartworker.reasoning.contract import MAX_TOKENS as REVIEW_MAX_TOKENS
from smartworker.reasoning.contract import ContractReview, parse_review, review_messages
from smartworker.reasoning.gates import Rejection, Trial, judge, outcome_view
from smartworker.reasoning.gates import restore_redacted as restore_redacted  # kept importable from here
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
from smartworker.reasoning.triage import after_baseline, before_baseline
from smartworker.redaction import redact_text
from smartworker.sandbox.base import SandboxBackend, SandboxRequest
from smartworker.sandbox.verdict import ReplayReference, baseline, passed_reason, replay_references

log = get_logger(__name__)

#: How long an in-flight marker protects a resolution from duplicates (it is removed when done).
INFLIGHT_TTL_S = 3600
#: From this candidate of a model on, it is asked afresh, with the earlier attempts listed by their
#: reasons only: told in the same conversation what is still wrong, a small model tends to send its
#: previous file back (docs/benchmarks.md). Candidates 2 and 3 stay in the
#: conversation, where a model's corrections of its own change are found.
FRESH_FROM = 4


@dataclass(frozen=True)
class Target:
    """The code a resolution works on."""

    app_root: Path
    app_module: str
    hazard_testing: bool = False


@dataclass(frozen=True)
class Model:
    """A model the loop asks, and how many candidates it may write."""

    name: str
    client: ChatClient
    candidates: int
    escalation: bool = False  #: asked after the first model's candidates gave no verified fix


@dataclass
class Resolution:
    """What the core loop produced, before it is reported."""

    fixed: bool
    reason: str
    diff: str = ""
    files: dict[str, str] = field(default_factory=dict)
    summary: str = ""
    abstained: bool = False  #: the triage found no code bug to fix; no model was asked


class Resolver:
    """Runs resolutions; one instance per process, shared by the reasoning worker, API and CLI."""

    def __init__(self, settings: Settings, queues: Queues, *, llm: ChatClient | None, sandbox: SandboxBackend,
                 notifier: EmailNotifier, memory: FailureMemory | None = None,
                 escalation: ChatClient | None = None) -> None:
        self.settings = settings
        self.queues = queues
        self.llm = llm
        #: The stronger model the loop goes on with (AI_ESCALATION_*); None: no escalation.
        self.escalation = escalation if escalation is not None else ChatClient.escalation_from_settings(settings)
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

    @observed_resolution
    async def resolve(self, dlq_id: str) -> FixRecord:
        """Resolve one dead job end to end and return its fix record."""
        dead = await self._dead(dlq_id)
        ctx = self.context(dead)
        record = FixRecord.new(dlq_id, dead.queue, dead.job_id, dead.name)
        record.signature = ctx.signature
        progress.start(record, sum(model.candidates for model in self._models()))
        marker = keys.fix_inflight(dead.queue, dead.name, ctx.signature_hash)
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
        record.status = (FixStatus.FIXED if result.fixed else
                         FixStatus.ABSTAINED if result.abstained else FixStatus.NOT_FIXED)
        record.reason = result.reason
        record.diff = result.diff
        if result.fixed:
            result.summary = await self._summarise(ctx, result.diff, record)
            record.summary = result.summary
        return result

    async def _loop(self, ctx: FailureContext, data: dict[str, Any], record: FixRecord,
                    template: SandboxRequest, replay_inputs: list[dict[str, Any]]) -> Resolution:
        await progress.mark(self.records, record, progress.Phase.REPRODUCING)
        # Triage: is this a code bug to fix at all? (reasoning/triage.py)
        abstain = before_baseline(ctx)
        base = None if abstain is not None else await baseline(self.sandbox, template, data)
        if base is not None:
            abstain = after_baseline(base)
        if abstain is not None or base is None:
            record.abstained = abstain.kind if abstain is not None else None
            return Resolution(False, abstain.reason if abstain is not None else "", abstained=True)
        models = self._models()
        if not models:
            return Resolution(False, "no LLM configured (AI_SERVICE_URL, or install the local model)")
        await progress.mark(self.records, record, progress.Phase.SEARCHING_MEMORY)
        hint = await self._memory_hint(ctx, record)
        rejected = await self._rejected(ctx)
        originals = self._originals(target_root=template.app_root, paths=list(ctx.sources))
        references = await replay_references(self.sandbox, template, replay_inputs[:self.settings.sandbox_replay_k])
        if not self.settings.sandbox_replay_compare:
            references = [ReplayReference(r.data) for r in references]
        earlier_data = [r.data for r in references]
        feedback: Feedback | None = None
        last_reason, best_diff, index = "no candidate was tried", "", 0
        for model in models:
            first = index + 1  # this model's first candidate
            for turn in range(1, model.candidates + 1):
                index += 1
                # Asked afresh (earlier attempts by their reasons only) from FRESH_FROM on, and by a new
                # model, which also learns why every earlier model's candidate was turned down.
                fresh = turn >= FRESH_FROM or (turn == 1 and index > 1)
                learnt = [_why_not(c) for c in record.candidates if fresh or c.index < first]
                messages = fix_messages(ctx, memory=hint, feedback=None if fresh else feedback,
                                        values=base.outcome.values, earlier=learnt or None,
                                        earlier_data=earlier_data, rejected=rejected)
                spent = record.prompt_tokens + record.completion_tokens
                if spent + token_estimate(messages) > self.settings.ai_token_budget:
                    return Resolution(False, f"token budget of {self.settings.ai_token_budget} spent after "
                                             f"{index - 1} candidates", best_diff)
                candidate = Candidate(index=index, model=model.name)
                record.candidates.append(candidate)
                await progress.mark(self.records, record, progress.Phase.ASKING, index)
                completion = await self._ask(model, messages, turn, candidate, record)
                if completion is None:
                    last_reason = candidate.rejected or "LLM failed"
                    await self.records.save(record)
                    if model.escalation and candidate.rejected == "LLM unavailable":
                        break
                    continue
                trial = Trial(ctx, completion.text, template, data, originals, references, self.sandbox,
                              variants=self.settings.sandbox_variants, original=base.outcome,
                              review=self._reviewer(model, ctx.data, candidate, record))
                started = time.monotonic()
                await progress.mark(self.records, record, progress.Phase.VERIFYING, index)
                try:
                    candidate.gates, veto = await judge(trial)
                except SandboxError as exc:
                    candidate.verdict = f"not fixed: sandbox error: {exc}"
                    last_reason = candidate.verdict
                    await self.records.save(record)
                    continue
                self._note(candidate, trial, veto, started)
                await self.records.save(record)
                if veto is None:
                    assert trial.proposal is not None and trial.runs is not None
                    reason = passed_reason(trial.runs)
                    return Resolution(True, f"candidate {index}: {reason}", candidate.diff, trial.proposal.files)
                if trial.runs is None:
                    last_reason = f"candidate {index} rejected: {candidate.rejected}"
                else:
                    best_diff = best_diff or candidate.diff
                    last_reason = f"candidate {index}: {veto.reason}"
                feedback = Feedback(completion.text, veto.reason, veto.details, veto.values)
        return Resolution(False, last_reason, best_diff)

    def _models(self) -> list[Model]:
        """The models to ask, in order: the first one, then the escalation model when configured."""
        models = [Model(self.llm.model, self.llm, self.settings.ai_candidates)] if self.llm is not None else []
        if self.escalation is not None and self.settings.ai_escalation_candidates > 0:
            models.append(Model(self.escalation.model, self.escalation, self.settings.ai_escalation_candidates,
                                escalation=True))
        return models

    @staticmethod
    def _note(candidate: Candidate, trial: Trial, veto: Rejection | None, started: float) -> None:
        """What the gates found, in the candidate's own fields (the rows are in ``gates``)."""
        if trial.proposal is not None:
            candidate.diff = trial.proposal.diff()
        if trial.runs is None:  # turned down before the sandbox
            candidate.rejected = veto.reason.removeprefix("it was rejected: ") if veto else None
            return
        candidate.sandbox_s = round(time.monotonic() - started, 3)
        candidate.outcome = outcome_view(trial.runs.failing)
        candidate.replays = [outcome_view(o) for o in trial.runs.others]
        candidate.verdict = "fixed" if veto is None else f"not fixed: {veto.reason}"

    def _reviewer(self, model: Model, data: dict[str, Any], candidate: Candidate, record: FixRecord
                  ) -> Callable[[dict[str, str], Any], Awaitable[ContractReview]] | None:
        """The contract review for the gates (None when it is off). It is asked of the escalation model
        when one is configured, the strongest judge at hand, and of the candidate's own model otherwise
        or while the escalation server is down: a model judging its own result is weak evidence
        (docs/benchmarks.md), which is why the review informs rather than vetoes."""
        if not self.settings.ai_output_review:
            return None
        judges = [model.client]
        if self.escalation is not None and self.escalation is not model.client:
            judges.insert(0, self.escalation)

        async def review(files: dict[str, str], result: Any) -> ContractReview:
            # ``data`` is the context's, redacted: the model never sees a secret of the job.
            return await self._review(judges, files, data, result, candidate, record)
        return review

    async def _ask(self, model: Model, messages: list[dict[str, str]], turn: int, candidate: Candidate,
                   record: FixRecord) -> Completion | None:
        # Later candidates sample hotter: the same prompt at the same temperature tends to repeat itself.
        temperature = min(1.0, self.settings.ai_temperature + 0.3 * (turn - 1))
        started = time.monotonic()
        try:
            completion = await model.client.complete(messages, temperature=temperature,
                                                     seed=self.settings.ai_seed + candidate.index)
        except LLMError as exc:
            candidate.rejected = f"LLM: {exc.message}"
            candidate.llm_s = round(time.monotonic() - started, 3)
            return None
        except LLMUnavailableError:
            if not model.escalation:
                raise  # an outage of the first model holds the resolution back (see resolve)
            candidate.rejected = "LLM unavailable"  # the escalation model's outage ends escalation only
            return None
        candidate.llm_s = round(completion.duration_s, 3)
        candidate.prompt_tokens = completion.prompt_tokens
        candidate.completion_tokens = completion.completion_tokens
        record.prompt_tokens += completion.prompt_tokens
        record.completion_tokens += completion.completion_tokens
        record.llm_calls += 1
        return completion

    async def _review(self, judges: list[ChatClient], files: dict[str, str], data: dict[str, Any], result: Any,
                      candidate: Candidate, record: FixRecord) -> ContractReview:
        """The contract review of a verified candidate by the first judge that answers; a failed call
        gives no answer. Only the last judge's outage (the candidate's own model) holds the loop back."""
        messages = review_messages(files, data, result)
        for position, client in enumerate(judges):
            try:
                completion = await client.complete(messages, temperature=0.0, max_tokens=REVIEW_MAX_TOKENS, seed=1)
            except LLMUnavailableError:
                if position == len(judges) - 1:
                    raise
                log.warning("the escalation model is unavailable for a contract review; the candidate's own "
                            "model reviews it", fix_id=record.id)
                continue
            except LLMError as exc:
                log.warning("no contract review for a verified candidate", fix_id=record.id, error=exc.message)
                return ContractReview(None, "")
            candidate.reviewer = client.model
            break
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

    def _report(self, record: FixRecord, patch: str = "") -> FixReport:
        return FixReport(fix_id=record.id, fixed=record.fixed, job_name=record.job_name, job_id=record.job_id,
                         queue=record.queue, signature=record.signature, reason=record.reason, diff=record.diff,
                         summary=record.summary, candidates=len(record.candidates), patch=patch,
                         branch=record.review.branch if record.review else None,
                         attempts=tuple(f"candidate {c.index}: {_why_not(c)}" for c in record.candidates),
                         concerns=tuple(record.concerns))


def _why_not(candidate: Candidate) -> str:
    """One line on why an earlier candidate was not taken, for a fresh ask."""
    reason = candidate.rejected or candidate.verdict or "no verdict"
    return reason.removeprefix("not fixed: ")
