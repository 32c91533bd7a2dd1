"""The review of a verified fix by the people who own the code:
``proposed -> approved | rejected``, ``approved -> applied | deployed``, ``applied -> deployed``.

Each step records who took it and when, under a per-fix lock, and only from a state that allows it.
Approving opens a pull request when one is configured; applying (only with FIX_APPLY=true) writes the
fix into the working tree; applying or marking deployed retries the dead jobs the fix covers. The
memory learns from each: an approved or applied fix is a resolution, a rejected one is stored with
its reason and shown to the model as what not to do for that failure. Nothing is applied without a
person's step.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx
from redis.exceptions import LockError

from smartworker.config import Settings
from smartworker.errors import (
    ApplyDisabledError,
    DeliveryError,
    FailureNotFoundError,
    FixNotFoundError,
    ReviewStepError,
)
from smartworker.fixes.apply import apply_fix
from smartworker.fixes.heal import start_heal
from smartworker.fixes.providers import open_pull_request
from smartworker.fixes.reload import bump
from smartworker.keys import fix_lock
from smartworker.logs import get_logger
from smartworker.queues import Queues, now_ms
from smartworker.reasoning.context import extract
from smartworker.reasoning.records import (
    HEALING_STATES,
    REVIEW_STEPS,
    FixRecord,
    FixRecords,
    Review,
    ReviewState,
    ReviewStep,
)

if TYPE_CHECKING:
    from smartworker.memory.interface import FailureMemory

log = get_logger(__name__)

#: A review step holds the fix's lock at most this long (a push to a slow remote included).
LOCK_S = 300.0
#: How long a step waits for another step on the same fix before answering 409.
LOCK_WAIT_S = 5.0


class FixReview:
    """Review steps on fix records; one per request or command."""

    def __init__(self, settings: Settings, queues: Queues, memory: FailureMemory | None = None,
                 http: httpx.AsyncClient | None = None) -> None:
        self.settings = settings
        self.queues = queues
        self.memory = memory
        self.http = http
        self.records = FixRecords(queues.redis)

    async def approve(self, fix_id: str, by: str) -> FixRecord:
        """Accept a proposed fix; push its branch and open its pull request when configured.

        Approving an approved fix whose pull request failed tries the pull request again.
        """
        async with _Locked(self.queues, fix_id):
            record = await self._reviewable(fix_id)
            review = _review(record)
            if review.state is ReviewState.APPROVED and self._pr_wanted(review):
                await self._pull_request(record)
                await self.records.save(record)
                return record
            self._step(record, ReviewState.APPROVED, by)
            await self.records.save(record)
            if self._pr_wanted(review):
                await self._pull_request(record)
                await self.records.save(record)
        await self._remember_resolution(record)
        return record

    async def reject(self, fix_id: str, by: str, reason: str) -> FixRecord:
        """Refuse a proposed fix with a reason; the model sees it next time this failure comes."""
        reason = reason.strip()
        if not reason:
            raise ReviewStepError("reject needs a reason")
        async with _Locked(self.queues, fix_id):
            record = await self._reviewable(fix_id)
            self._step(record, ReviewState.REJECTED, by, note=reason)
            await self.records.save(record)
        if self.memory is not None:
            fix = {"fix_id": record.id, "queue": record.queue, "job_id": record.job_id, "name": record.job_name,
                   "signature": record.signature, "summary": record.summary, "diff": record.diff}
            try:
                await self.memory.remember_rejection(fix, reason, by)
            except Exception as exc:  # the step stands; the memory only misses this lesson
                log.warning("rejection not remembered", fix_id=record.id, error=str(exc))
        return record

    async def apply(self, fix_id: str, by: str) -> FixRecord:
        """Write an approved fix into APP_ROOT_DIR (FIX_APPLY=true only) and heal its dead jobs.

        Refused, with the file named, when a file it touches is not as it was when the fix was made.
        """
        if not self.settings.fix_apply:
            raise ApplyDisabledError()
        async with _Locked(self.queues, fix_id):
            record = await self._reviewable(fix_id)
            self._check(record, ReviewState.APPLIED)
            written = await apply_fix(self.settings.app_root, self.queues.redis, record.id, _review(record))
            log.info("fix applied", fix_id=record.id, files=written, by=by)
            self._step(record, ReviewState.APPLIED, by)
            await self.records.save(record)
            await self._heal(record)
        await self._remember_resolution(record)
        return await self.records.get(fix_id)

    async def deployed(self, fix_id: str, by: str) -> FixRecord:
        """Note that the fixed code is live, and heal the dead jobs it covers."""
        async with _Locked(self.queues, fix_id):
            record = await self._reviewable(fix_id)
            self._step(record, ReviewState.DEPLOYED, by)
            await self.records.save(record)
            await self._heal(record)
        return await self.records.get(fix_id)

    # -- steps --------------------------------------------------------------------------------------
    async def _reviewable(self, fix_id: str) -> FixRecord:
        record = await self.records.get(fix_id)
        if record.review is None:
            raise ReviewStepError(f"fix {fix_id} is {record.status.value}: only a verified fix can be reviewed")
        return record

    @staticmethod
    def _check(record: FixRecord, target: ReviewState) -> None:
        state = _review(record).state
        if target not in REVIEW_STEPS[state]:
            allowed = ", ".join(sorted(s.value for s in REVIEW_STEPS[state])) or "none"
            raise ReviewStepError(f"fix {record.id} is {state.value}: it cannot become {target.value} "
                                  f"(next steps: {allowed})")

    def _step(self, record: FixRecord, target: ReviewState, by: str, note: str = "") -> None:
        self._check(record, target)
        review = _review(record)
        review.state = target
        review.steps.append(ReviewStep(target, by, now_ms(), note))
        log.info("fix review step", fix_id=record.id, state=target.value, by=by)

    def _pr_wanted(self, review: Review) -> bool:
        return self.settings.fix_pr_provider != "none" and review.pr_url is None

    async def _pull_request(self, record: FixRecord) -> None:
        review = _review(record)
        try:
            if self.http is not None:
                made = await open_pull_request(self.settings, record, self.http)
            else:
                async with httpx.AsyncClient() as http:
                    made = await open_pull_request(self.settings, record, http)
        except DeliveryError as exc:  # the approval stands; approving again retries the pull request
            review.pr_error = exc.message
            log.warning("pull request not opened", fix_id=record.id, error=exc.message)
            return
        review.pr_url, review.pr_error = made.url, None
        log.info("pull request opened", fix_id=record.id, url=made.url)

    async def _heal(self, record: FixRecord) -> None:
        if _review(record).state not in HEALING_STATES:
            return
        generation = await bump(self.queues)  # workers re-import the changed code
        await start_heal(self.queues, record, generation)

    async def _remember_resolution(self, record: FixRecord) -> None:
        """An approved or applied fix is a resolution of its failure in memory (stored again if the
        verdict's own storing was missed)."""
        if self.memory is None:
            return
        try:
            try:
                await self.memory.remember_resolution(record.queue, record.job_id, record.summary, record.diff)
            except FailureNotFoundError:
                dead = await self.queues.dead_job(record.dlq_id)
                if dead is None:
                    raise
                await self.memory.remember_failure(extract(
                    queue=dead.queue, job_id=dead.job_id, job_name=dead.name, attempts=dead.attempts_made,
                    data=dead.data, opts=dead.opts, failed_reason=dead.failed_reason, stacktrace=dead.stacktrace,
                    app_root=self.settings.app_root))
                await self.memory.remember_resolution(record.queue, record.job_id, record.summary, record.diff)
        except Exception as exc:  # the step stands; the memory only misses this lesson
            log.warning("resolution not remembered", fix_id=record.id, error=str(exc))


def _review(record: FixRecord) -> Review:
    if record.review is None:  # _reviewable checked it; kept for the type checker
        raise FixNotFoundError(f"fix {record.id} has no review")
    return record.review


class _Locked:
    """The fix's lock for one review step; 409 when another step holds it."""

    def __init__(self, queues: Queues, fix_id: str) -> None:
        self.lock = queues.redis.lock(fix_lock(fix_id), timeout=LOCK_S, blocking_timeout=LOCK_WAIT_S)
        self.fix_id = fix_id

    async def __aenter__(self) -> None:
        if not await self.lock.acquire():
            raise ReviewStepError(f"fix {self.fix_id}: another review step is in progress; try again")

    async def __aexit__(self, *exc: object) -> None:
        try:
            await self.lock.release()
        except LockError:  # held past LOCK_S: it expired, and the step is done anyway
            log.warning("review lock had expired", fix_id=self.fix_id)
