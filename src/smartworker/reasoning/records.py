"""Fix records: every resolution attempt, kept in Redis next to the jobs it is about.

A record is written when the resolution starts and after every step, so a crash leaves a record
that says how far it got, and the report email is sent only after the record is stored.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass, field, fields
from enum import StrEnum
from typing import Any

import redis.asyncio as aioredis

from smartworker import keys
from smartworker.errors import FixNotFoundError
from smartworker.queues import now_ms
from smartworker.reasoning.progress import Progress


class FixStatus(StrEnum):
    """Where a resolution stands."""

    RUNNING = "running"  #: being worked on
    FIXED = "fixed"  #: a candidate passed the sandbox verdict
    NOT_FIXED = "not_fixed"  #: every candidate was rejected or failed
    ABSTAINED = "abstained"  #: not a code bug to fix (invalid input, outside the app, no repro); see ``reason``
    ERROR = "error"  #: the resolution itself broke (LLM down, sandbox missing, ...)
    ATTACHED = "attached"  #: an identical failure was already being resolved; see ``attached_to``


#: Statuses a record does not leave.
FINAL_FIX_STATUSES = frozenset({FixStatus.FIXED, FixStatus.NOT_FIXED, FixStatus.ABSTAINED, FixStatus.ERROR,
                                FixStatus.ATTACHED})


@dataclass
class Candidate:
    """One proposal and what became of it."""

    index: int
    model: str = ""  #: the model that wrote it (the first model's, or the escalation model's)
    rejected: str | None = None  #: why a gate before the sandbox turned the proposal down
    diff: str = ""
    verdict: str | None = None  #: "fixed" / "not fixed: ..." from the sandbox
    review: str | None = None  #: the contract review of a verified candidate: "yes: ...", "no: ..."
    reviewer: str = ""  #: the model that gave that review (the escalation model's when one is configured)
    outcome: dict[str, Any] | None = None  #: the failing job's sandbox run (exit, tails, duration)
    replays: list[dict[str, Any]] = field(default_factory=list)
    #: every gate's outcome, in order (reasoning/gates.py): name, policy (veto/inform), outcome
    #: (passed/failed/skipped/not run), reason, evidence
    gates: list[dict[str, Any]] = field(default_factory=list)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    llm_s: float = 0.0
    sandbox_s: float = 0.0


def informed(rows: list[dict[str, Any]]) -> list[str]:
    """The reasons of the inform gates that said no in a candidate's ``gates`` rows, as "gate: reason"."""
    return [f"{r['name']}: {r['reason']}" for r in rows if r.get("policy") == "inform" and r.get("outcome") == "failed"]


class ReviewState(StrEnum):
    """Where a verified fix stands with the people who own the code (apart from the verdict)."""

    PROPOSED = "proposed"  #: verified in the sandbox, waiting for a person
    APPROVED = "approved"  #: a person accepted it (its pull request is opened when configured)
    REJECTED = "rejected"  #: a person refused it, with a reason the model is shown next time
    APPLIED = "applied"  #: written into APP_ROOT_DIR's working tree by a person's step
    DEPLOYED = "deployed"  #: a person says the fixed code is live


#: The review steps a person may take from each state.
REVIEW_STEPS: dict[ReviewState, frozenset[ReviewState]] = {
    ReviewState.PROPOSED: frozenset({ReviewState.APPROVED, ReviewState.REJECTED}),
    ReviewState.APPROVED: frozenset({ReviewState.APPLIED, ReviewState.DEPLOYED}),
    ReviewState.APPLIED: frozenset({ReviewState.DEPLOYED}),
    ReviewState.REJECTED: frozenset(),
    ReviewState.DEPLOYED: frozenset(),
}
#: States in which the fixed code runs, so the dead jobs it covers are retried.
HEALING_STATES = frozenset({ReviewState.APPLIED, ReviewState.DEPLOYED})


@dataclass
class ReviewStep:
    """One step of the review: who moved the fix to which state, and when."""

    state: ReviewState
    by: str  #: the API key's name, the CLI user, "api", or "smartworker" for the proposal
    at: int  #: ms since the epoch
    note: str = ""  #: a rejection's reason


@dataclass
class TouchedFile:
    """A file a fix changes, with the hashes that let ``apply`` prove it is unchanged since."""

    path: str  #: relative to APP_ROOT_DIR
    base: str | None  #: sha256 of the content the fix applies to; None for a new file
    new: str  #: sha256 of the fixed content


@dataclass
class Heal:
    """Progress of retrying the dead jobs a fix covers (kept beside the record, merged on read)."""

    state: str = "waiting"  #: waiting (for workers to load the code), running, done, stopped
    total: int = 0  #: dead jobs found with the fix's handler and signature
    retried: int = 0
    healed: int = 0  #: completed once retried
    failed: int = 0  #: failed again: back in the DLQ, listed in ``failed_again``
    gone: int = 0  #: retried, then neither completed nor dead (removed by someone)
    note: str = ""
    failed_again: list[str] = field(default_factory=list)  #: their new DLQ ids


@dataclass
class Review:
    """The human side of a verified fix: its branch and patch, the review steps, the PR and the heal."""

    state: ReviewState = ReviewState.PROPOSED
    steps: list[ReviewStep] = field(default_factory=list)
    files: list[TouchedFile] = field(default_factory=list)
    branch: str | None = None  #: smartworker/fix/<id>, when APP_ROOT_DIR is in a git repository
    commit: str | None = None
    base_commit: str | None = None  #: the commit the branch starts from (HEAD when the fix was made)
    no_branch: str = ""  #: why there is no branch ("" when there is one)
    patch: bool = False  #: a format-patch file was made (and emailed)
    pr_url: str | None = None
    pr_error: str | None = None
    heal: Heal | None = None

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Review:
        """Inverse of ``asdict``."""
        raw = _known(cls, raw)
        raw["state"] = ReviewState(raw.get("state", "proposed"))
        raw["steps"] = [ReviewStep(**{**_known(ReviewStep, s), "state": ReviewState(s["state"])})
                        for s in raw.get("steps", [])]
        raw["files"] = [TouchedFile(**_known(TouchedFile, f)) for f in raw.get("files", [])]
        raw["heal"] = Heal(**_known(Heal, raw["heal"])) if raw.get("heal") else None
        return cls(**raw)


@dataclass
class FixRecord:
    """A resolution attempt for one dead job."""

    id: str
    dlq_id: str
    queue: str
    job_id: str
    job_name: str
    signature: str = ""
    status: FixStatus = FixStatus.RUNNING
    reason: str = ""
    diff: str = ""
    summary: str = ""
    candidates: list[Candidate] = field(default_factory=list)
    attached: list[str] = field(default_factory=list)  #: DLQ ids of identical failures (read-only copy)
    attached_to: str | None = None
    memory: dict[str, Any] | None = None  #: the memory vote's winner, if any
    abstained: str | None = None  #: with ABSTAINED: the triage's kind ("invalid input", ...)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    llm_calls: int = 0
    created_on: int = field(default_factory=now_ms)
    finished_on: int | None = None
    emailed: bool = False
    review: Review | None = None  #: set once a fix is verified (fixes/delivery.py)
    progress: Progress | None = None  #: phase and candidate while running (reasoning/progress.py)

    @property
    def fixed(self) -> bool:
        """True only for a verified fix."""
        return self.status is FixStatus.FIXED

    @property
    def concerns(self) -> list[str]:
        """For a verified fix, "gate: reason" of each informing gate that said no to it (its candidate is
        the last: the loop stops at it); the report and the API show them to whoever approves it."""
        if not self.fixed or not self.candidates:
            return []
        return informed(self.candidates[-1].gates)

    @classmethod
    def new(cls, dlq_id: str, queue: str, job_id: str, job_name: str) -> FixRecord:
        """A fresh running record."""
        return cls(id=uuid.uuid4().hex[:16], dlq_id=dlq_id, queue=queue, job_id=job_id, job_name=job_name)

    def to_dict(self) -> dict[str, Any]:
        """JSON view."""
        out = asdict(self)
        out["status"] = self.status.value
        return out

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> FixRecord:
        """Inverse of to_dict. Fields this version does not know (a record written by a newer or older
        SmartWorker on the same Redis) are left out rather than failing the read."""
        raw = _known(cls, raw)
        raw["status"] = FixStatus(raw.get("status", "running"))
        raw["candidates"] = [Candidate(**_known(Candidate, c)) for c in raw.get("candidates", [])]
        raw["review"] = Review.from_dict(raw["review"]) if raw.get("review") else None
        raw["progress"] = Progress.from_dict(raw["progress"]) if isinstance(raw.get("progress"), dict) else None
        return cls(**raw)


def _known(kind: type, raw: dict[str, Any]) -> dict[str, Any]:
    names = {f.name for f in fields(kind)}
    return {k: v for k, v in raw.items() if k in names}


class FixRecords:
    """Fix records in Redis: one string per record plus a time index."""

    def __init__(self, redis: aioredis.Redis) -> None:
        self.redis = redis

    async def save(self, record: FixRecord) -> None:
        """Write (or overwrite) a record."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(keys.fix_record(record.id), json.dumps(record.to_dict(), default=str))
            pipe.zadd(keys.fix_index(), {record.id: record.created_on})
            await pipe.execute()

    async def get(self, fix_id: str) -> FixRecord:
        """One record; FixNotFoundError when unknown."""
        raw = await self.redis.get(keys.fix_record(fix_id))
        if raw is None:
            raise FixNotFoundError(f"fix {fix_id!r} not found")
        try:
            record = FixRecord.from_dict(json.loads(raw))
        except (ValueError, TypeError) as exc:  # written by another SmartWorker version on this Redis
            raise FixNotFoundError(f"fix {fix_id!r} cannot be read by this version: {exc}") from None
        record.attached = [str(x) for x in await self.redis.lrange(keys.fix_attached(fix_id), 0, -1)]
        if record.review is not None:
            record.review.heal = await self.heal(fix_id)
        return record

    async def heal(self, fix_id: str) -> Heal | None:
        """The heal progress of a fix, or None before one started."""
        raw = await self.redis.hgetall(keys.fix_heal(fix_id))
        if not raw:
            return None
        failed = [str(x) for x in await self.redis.lrange(keys.fix_heal_failed(fix_id), 0, -1)]
        return Heal(state=str(raw.get("state", "waiting")), note=str(raw.get("note", "")), failed_again=failed,
                    **{name: int(raw.get(name, 0)) for name in ("total", "retried", "healed", "failed", "gone")})

    async def attach(self, owner_id: str, dlq_id: str) -> None:
        """Note that ``dlq_id`` waits on resolution ``owner_id``.

        Kept beside the record, not in it: the owner rewrites its record as it goes and would
        overwrite an append made by another process.
        """
        await self.redis.rpush(keys.fix_attached(owner_id), dlq_id)

    async def page(self, page: int, size: int) -> tuple[int, list[FixRecord]]:
        """Newest first."""
        total = int(await self.redis.zcard(keys.fix_index()))
        start = (page - 1) * size
        ids = await self.redis.zrevrange(keys.fix_index(), start, start + size - 1)
        records = []
        for fix_id in ids:
            try:
                records.append(await self.get(str(fix_id)))
            except FixNotFoundError:
                continue
        return total, records
