"""BullMQ queues: enqueue, inspect, and the dead-letter queue.

The DLQ is an ordinary BullMQ queue (``login-dlq``) whose jobs nobody consumes, so Node tools and
dashboards can see it. A move is idempotent: the DLQ job id is derived from the source queue and
job id, the move runs under a short lock, and the source job is removed only after the DLQ copy
(and, when asked for, the resolution request) exist. A crash in between leaves the job in the
source queue's ``failed`` set, where the sweeper finds it again.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any, cast

import redis.asyncio as aioredis
from bullmq import Job, Queue
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from smartworker import keys
from smartworker.config import Settings
from smartworker.errors import ConflictError, InvalidJobOptionsError, JobNotFoundError
from smartworker.jobs import JobStatus
from smartworker.logs import get_logger
from smartworker.options import checked_schedule, parse_options

log = get_logger(__name__)

#: Options BullMQ keeps in a job's opts for its own bookkeeping; a retried dead job gets new ones.
_RESERVED_OPTS = frozenset({"jobId", "repeat", "parent", "removeOnFail", "prevMillis", "timestamp"})
#: Why a stored job could not be read, when BullMQ's reader fails on what another producer wrote.
_UNREADABLE = (ValueError, TypeError, KeyError, AttributeError)
#: How long a DLQ move may hold its lock.
_MOVE_LOCK_MS = 30_000
#: Resolution requests are retried like any job, but never land in a DLQ themselves.
_REASONING_OPTS: dict[str, Any] = {
    "attempts": 5,
    "backoff": {"type": "exponential", "delay": 5000},
    "removeOnComplete": 1000,
    "removeOnFail": 1000,
}


def now_ms() -> int:
    """Wall clock in milliseconds, as BullMQ stamps jobs."""
    return int(time.time() * 1000)


@dataclass(frozen=True)
class DeadJob:
    """One dead-letter entry."""

    id: str  #: id inside the DLQ
    name: str
    data: dict[str, Any]
    opts: dict[str, Any]
    queue: str  #: original queue
    job_id: str  #: original job id
    failed_reason: str
    stacktrace: list[str]
    attempts_made: int
    timestamp: int  #: when the job was created
    processed_on: int | None
    finished_on: int | None
    moved_on: int  #: when it entered the DLQ

    @classmethod
    def from_record(cls, dlq_id: str, record: dict[str, Any]) -> DeadJob:
        """Read the record the DLQ job carries as its data."""
        job = record.get("job", {})
        failure = record.get("failure", {})
        return cls(
            id=dlq_id,
            name=str(job.get("name", "")),
            data=job.get("data") or {},
            opts=job.get("opts") or {},
            queue=str(job.get("queue", "")),
            job_id=str(job.get("id", "")),
            failed_reason=str(failure.get("failedReason", "")),
            stacktrace=list(failure.get("stacktrace") or []),
            attempts_made=int(failure.get("attemptsMade", 0)),
            timestamp=int(job.get("timestamp", 0)),
            processed_on=failure.get("processedOn"),
            finished_on=failure.get("finishedOn"),
            moved_on=int(record.get("movedOn", 0)),
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON view for the API and CLI."""
        return {
            "id": self.id,
            "name": self.name,
            "data": self.data,
            "opts": self.opts,
            "queue": self.queue,
            "jobId": self.job_id,
            "failedReason": self.failed_reason,
            "stacktrace": self.stacktrace,
            "attemptsMade": self.attempts_made,
            "timestamp": self.timestamp,
            "processedOn": self.processed_on,
            "finishedOn": self.finished_on,
            "movedOn": self.moved_on,
        }


def wants_fix(data: Any) -> bool:
    """True when the job asked for an AI resolution. The caller's value stands as given."""
    return isinstance(data, dict) and data.get("reasoning_fix") is True


class Queues:
    """The BullMQ queues of one main queue, plus a plain client for our own keys."""

    def __init__(self, settings: Settings, redis_url: str) -> None:
        self.settings = settings
        self.redis_url = redis_url
        self.names = keys.QueueNames(settings.queue_name)
        # One pooled client for our keys and the four queues. Every command is bounded and not
        # retried: BullMQ's own client retries 20 times over minutes, so an API call with Redis
        # down hung for over 30 s, and a request its client had given up on ran when Redis came
        # back. A connection Redis closed is replaced when it is next taken from the pool.
        self.redis: aioredis.Redis = aioredis.from_url(
            redis_url, decode_responses=True, socket_timeout=settings.redis_timeout_s,
            socket_connect_timeout=settings.redis_timeout_s, retry=Retry(NoBackoff(), 0))
        opts: dict[str, Any] = {"connection": self.redis, "prefix": settings.queue_prefix}
        self.main = Queue(self.names.main, opts)
        self.dlq = Queue(self.names.dlq, opts)
        self.reasoning = Queue(self.names.reasoning, opts)
        self.sandbox = Queue(self.names.sandbox, opts)

    async def close(self) -> None:
        """Close every connection."""
        for queue in (self.main, self.dlq, self.reasoning, self.sandbox):
            await queue.close()
        await self.redis.aclose()

    # -- producing --------------------------------------------------------------------------------
    def job_options(self, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
        """Default job options (3 attempts, exponential backoff) with the caller's overrides.

        InvalidJobOptionsError names the first option out of type or bounds (options.py).
        """
        opts: dict[str, Any] = {
            "attempts": self.settings.job_attempts,
            "backoff": {"type": "exponential", "delay": self.settings.job_backoff_ms},
            "removeOnComplete": {"count": self.settings.keep_completed},
        }
        opts.update(parse_options(overrides or {}).to_bullmq())
        return checked_schedule(opts)

    async def enqueue(self, name: str, data: dict[str, Any], opts: dict[str, Any] | None = None) -> str:
        """Add a job to the main queue and return its id."""
        job = await self.main.add(name, data, cast(Any, self.job_options(opts)))
        return str(job.id)

    # -- inspecting -------------------------------------------------------------------------------
    async def job_state(self, job_id: str) -> JobStatus:
        """BullMQ state of a job in the main queue."""
        state = str(await self.main.getJobState(job_id))
        try:
            return JobStatus(state)
        except ValueError:
            return JobStatus.UNKNOWN

    async def describe(self, job_id: str) -> dict[str, Any]:
        """State, attempts, result or failure of a job, also after it went to the DLQ.

        A job another producer stored in a shape BullMQ cannot read is described from its raw hash.
        """
        try:
            job = await Job.fromId(self.main, job_id)
        except _UNREADABLE as exc:
            return await self._describe_raw(job_id, f"{type(exc).__name__}: {exc}")
        if job is not None:
            status = await self.job_state(job_id)
            return self._view(job_id, status, name=job.name, attempts_made=job.attemptsMade, opts=job.opts,
                              data=job.data, result=job.returnvalue if status is JobStatus.COMPLETED else None,
                              failed_reason=job.failedReason, stacktrace=job.stacktrace, timestamp=job.timestamp,
                              processed_on=job.processedOn or None, finished_on=job.finishedOn or None)
        dead = await self.dead_job(keys.dlq_job_id(self.names.main, job_id))
        if dead is None:
            raise JobNotFoundError(f"job {job_id!r} not found in queue {self.names.main!r} or its DLQ")
        view = self._view(job_id, JobStatus.DEAD, name=dead.name, attempts_made=dead.attempts_made, opts=dead.opts,
                          data=dead.data, result=None, failed_reason=dead.failed_reason,
                          stacktrace=dead.stacktrace, timestamp=dead.timestamp, processed_on=dead.processed_on,
                          finished_on=dead.finished_on)
        view["dlqId"] = dead.id
        return view

    async def _describe_raw(self, job_id: str, problem: str) -> dict[str, Any]:
        raw: dict[str, Any] = await self.redis.hgetall(  # type: ignore[assignment]
            f"{self.settings.queue_prefix}:{self.names.main}:{job_id}")
        status = await self.job_state(job_id)
        reason = raw.get("failedReason")
        view = self._view(job_id, status, name=str(raw.get("name", "")), attempts_made=raw.get("atm"),
                          opts=_loads(raw.get("opts"), {}), data=_loads(raw.get("data"), raw.get("data")),
                          result=None, failed_reason=None if reason is None else str(reason),
                          stacktrace=_loads(raw.get("stacktrace"), []), timestamp=raw.get("timestamp"),
                          processed_on=raw.get("processedOn"), finished_on=raw.get("finishedOn"))
        view["problem"] = f"the stored job is not readable by BullMQ ({problem})"
        return view

    def _view(self, job_id: str, status: JobStatus, *, name: str, attempts_made: Any, opts: dict[str, Any],
              data: Any, result: Any, failed_reason: str | None, stacktrace: list[str], timestamp: Any,
              processed_on: Any, finished_on: Any) -> dict[str, Any]:
        """One job's public view; the same shape whether it is live or dead, whoever stored the job."""
        attempts = opts.get("attempts", 1) if isinstance(opts, dict) else None
        return {
            "id": job_id,
            "queue": self.names.main,
            "name": name,
            "state": status.value,
            "attemptsMade": _count(attempts_made) or 0,
            "attempts": _count(attempts),
            "data": data,
            "result": result,
            "failedReason": None if failed_reason is None else str(failed_reason),
            "stacktrace": [str(line) for line in stacktrace] if isinstance(stacktrace, list) else [],
            "timestamp": _count(timestamp),
            "processedOn": _count(processed_on),
            "finishedOn": _count(finished_on),
        }

    # -- dead-letter queue ------------------------------------------------------------------------
    async def move_to_dlq(self, job_id: str) -> bool:
        """Move a finally-failed job from the main queue to the DLQ, once.

        Returns True when this call moved it. Safe to call from the ``failed`` event (which fires on
        every attempt), from the sweeper, and from several workers at once.
        """
        lock = keys.dlq_move_lock(self.names.main, job_id)
        if not await self.redis.set(lock, "1", nx=True, px=_MOVE_LOCK_MS):
            return False
        try:
            # Only the failed set holds final failures; delayed/waiting jobs still have attempts.
            if await self.job_state(job_id) is not JobStatus.FAILED:
                return False
            job = await Job.fromId(self.main, job_id)
            if job is None:
                return False
            record = {
                "job": {
                    "id": job_id,
                    "name": job.name,
                    "data": job.data,
                    "opts": _plain_opts(job.opts),
                    "queue": self.names.main,
                    "timestamp": job.timestamp,
                },
                "failure": {
                    "failedReason": job.failedReason or "",
                    "stacktrace": job.stacktrace,
                    "attemptsMade": job.attemptsMade,
                    "processedOn": job.processedOn or None,
                    "finishedOn": job.finishedOn or None,
                },
                "movedOn": now_ms(),
            }
            dlq_id = await self._dlq_id_for(job_id, job.timestamp)
            await self.dlq.add(job.name, record, cast(Any, {"jobId": dlq_id, "attempts": 1}))
            if wants_fix(job.data):
                await self.request_fix(dlq_id, again=True)
            else:
                # Every final failure goes to memory; a resolution request does that itself.
                await self.reasoning.add("remember", {"dlqId": dlq_id},
                                         cast(Any, {**_REASONING_OPTS, "jobId": keys.remember_job_id(
                                             self.names.main, job_id)}))
            await self.main.remove(job_id)
            return True
        finally:
            await self.redis.delete(lock)

    async def _dlq_id_for(self, job_id: str, timestamp: Any) -> str:
        """The DLQ id of a failed job: derived from its id, so a second move of the same failure is a
        no-op; a later job that reused a caller's ``jobId`` gets its own entry (its creation time added)."""
        dlq_id = keys.dlq_job_id(self.names.main, job_id)
        earlier = await self.dead_job(dlq_id)
        if earlier is None or earlier.timestamp == _count(timestamp):
            return dlq_id
        return f"{dlq_id}__{timestamp}"

    async def request_fix(self, dlq_id: str, *, again: bool = False) -> str:
        """Durably ask the AI layer to resolve a dead job (a job on the reasoning queue).

        A request still waiting or running is that request. One that finished is a resolution
        already made: ConflictError naming its record, unless ``again`` asks for a new one.
        """
        dead = await self.dead_job(dlq_id)
        if dead is None:
            raise JobNotFoundError(f"DLQ job {dlq_id!r} not found")
        rid = keys.reasoning_job_id(dead.queue, dead.job_id)
        earlier = await Job.fromId(self.reasoning, rid)
        if earlier is not None:
            state = str(await self.reasoning.getJobState(rid))
            if state not in ("completed", "failed"):
                return rid  # queued, held back or running: the resolution asked for is coming
            if not again:
                outcome = earlier.returnvalue if isinstance(earlier.returnvalue, dict) else {}
                record = f"fix record {outcome['fix']!r} ({outcome.get('status')})" if "fix" in outcome else \
                    f"resolution request {rid!r} ({state})"
                raise ConflictError(f"DLQ job {dlq_id!r} was resolved before: {record}; "
                                    "ask again with again=true to run a new resolution")
            await self.reasoning.remove(rid)
        await self.reasoning.add("resolve", {"dlqId": dlq_id}, cast(Any, {**_REASONING_OPTS, "jobId": rid}))
        return rid

    async def sweep_failed(self, limit: int = 100) -> int:
        """Move every job left in the main queue's failed set to the DLQ (crash recovery)."""
        moved = 0
        ids = await self.main.backend.getRanges(["failed"], 0, limit - 1, True)
        for job_id in ids:
            if await self.move_to_dlq(str(job_id)):
                moved += 1
        return moved

    async def dead_job(self, dlq_id: str) -> DeadJob | None:
        """One DLQ entry, or None (also for an entry that is not ours to read)."""
        try:
            job = await Job.fromId(self.dlq, dlq_id)
            if job is None or not isinstance(job.data, dict):
                return None
            return DeadJob.from_record(dlq_id, job.data)
        except _UNREADABLE:
            return None

    async def list_dead(self, page: int, size: int) -> tuple[int, list[DeadJob]]:
        """A page (1-based) of DLQ entries, newest first, with the total."""
        counts = await self.dlq.getJobCounts("waiting", "paused", "prioritized")
        total = sum(int(v) for v in counts.values())
        start = (page - 1) * size
        jobs = await self.dlq.getJobs(["waiting", "paused", "prioritized"], start, start + size - 1, False)
        return total, [dead for j in jobs if (dead := _dead_or_none(j)) is not None]

    async def retry_dead(self, dlq_id: str, *, job_id: str | None = None) -> str:
        """Re-enqueue a dead job into its original queue with fresh attempts; it leaves the DLQ.

        ``job_id`` names the new job (a heal's retry: adding it twice adds it once).
        """
        dead = await self.dead_job(dlq_id)
        if dead is None:
            raise JobNotFoundError(f"DLQ job {dlq_id!r} not found")
        opts = usable_options(dead.opts)
        if job_id is None:
            new_id = await self.enqueue(dead.name, dead.data, opts)
        else:
            job = await self.main.add(dead.name, dead.data, cast(Any, {**self.job_options(opts), "jobId": job_id}))
            new_id = str(job.id)
        await self.dlq.remove(dlq_id)
        return new_id

    async def remove_dead(self, dlq_id: str) -> None:
        """Delete one DLQ entry."""
        if await Job.fromId(self.dlq, dlq_id) is None:
            raise JobNotFoundError(f"DLQ job {dlq_id!r} not found")
        await self.dlq.remove(dlq_id)

    async def clear_dead(self) -> int:
        """Delete every DLQ entry; returns how many there were."""
        total, _ = await self.list_dead(1, 1)
        # drain, not obliterate: obliterate pauses the queue and drops its metadata.
        await self.dlq.drain(True)
        return total


def _plain_opts(opts: dict[str, Any]) -> dict[str, Any]:
    # BullMQ adds bookkeeping (jobId, timestamps) to opts; keep what a caller could have set.
    return {k: v for k, v in opts.items() if k not in _RESERVED_OPTS}


def usable_options(opts: dict[str, Any]) -> dict[str, Any]:
    """The options of a dead job that a new job may carry: each one the validator accepts.

    One another producer stored out of bounds (or BullMQ's bookkeeping) is dropped, so the retry
    runs on the defaults for it instead of failing the same way.
    """
    kept: dict[str, Any] = {}
    for key, value in _plain_opts(opts).items():
        try:
            parse_options({**kept, key: value})
        except InvalidJobOptionsError as exc:
            log.warning("option of a dead job dropped on retry", option=key, reason=exc.message)
            continue
        kept[key] = value
    return kept


def _dead_or_none(job: Job) -> DeadJob | None:
    try:
        return DeadJob.from_record(str(job.id), job.data) if isinstance(job.data, dict) else None
    except _UNREADABLE:
        return None


def _loads(text: Any, default: Any) -> Any:
    try:
        return json.loads(text) if isinstance(text, str) else default
    except ValueError:
        return default


def _count(value: Any) -> int | None:
    """A stored counter or timestamp as an int, or None when it is not one (another producer's value)."""
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if -(2**63) <= number < 2**63 else None
