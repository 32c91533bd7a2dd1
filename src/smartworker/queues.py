"""BullMQ queues: enqueue, inspect, and the dead-letter queue.

The DLQ is an ordinary BullMQ queue (``login-dlq``) whose jobs nobody consumes, so Node tools and
dashboards can see it. A move is idempotent: the DLQ job id is derived from the source queue and
job id, the move runs under a short lock, and the source job is removed only after the DLQ copy
(and, when asked for, the resolution request) exist. A crash in between leaves the job in the
source queue's ``failed`` set, where the sweeper finds it again.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, cast

import redis.asyncio as aioredis
from bullmq import Job, Queue

from smartworker import keys
from smartworker.config import Settings
from smartworker.errors import JobNotFoundError, QueueError
from smartworker.jobs import JobStatus

#: Options a caller may not set on a job: they would break our bookkeeping or BullMQ's.
_RESERVED_OPTS = frozenset({"jobId", "repeat", "parent", "removeOnFail", "prevMillis", "timestamp"})
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
        opts: dict[str, Any] = {"connection": redis_url, "prefix": settings.queue_prefix}
        self.main = Queue(self.names.main, opts)
        self.dlq = Queue(self.names.dlq, opts)
        self.reasoning = Queue(self.names.reasoning, opts)
        self.sandbox = Queue(self.names.sandbox, opts)
        self.redis: aioredis.Redis = aioredis.from_url(redis_url, decode_responses=True)

    async def close(self) -> None:
        """Close every connection."""
        for queue in (self.main, self.dlq, self.reasoning, self.sandbox):
            await queue.close()
        await self.redis.aclose()

    # -- producing --------------------------------------------------------------------------------
    def job_options(self, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
        """Default job options (3 attempts, exponential backoff) with the caller's overrides."""
        opts: dict[str, Any] = {
            "attempts": self.settings.job_attempts,
            "backoff": {"type": "exponential", "delay": self.settings.job_backoff_ms},
            "removeOnComplete": {"count": self.settings.keep_completed},
        }
        for key, value in (overrides or {}).items():
            if key in _RESERVED_OPTS:
                raise QueueError(f"opts.{key} cannot be set by a caller")
            opts[key] = value
        return opts

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
        """State, attempts, result or failure of a job, also after it went to the DLQ."""
        job = await Job.fromId(self.main, job_id)
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

    def _view(self, job_id: str, status: JobStatus, *, name: str, attempts_made: int, opts: dict[str, Any],
              data: Any, result: Any, failed_reason: str | None, stacktrace: list[str], timestamp: Any,
              processed_on: Any, finished_on: Any) -> dict[str, Any]:
        """One job's public view; the same shape whether it is live or dead."""
        return {
            "id": job_id,
            "queue": self.names.main,
            "name": name,
            "state": status.value,
            "attemptsMade": attempts_made,
            "attempts": opts.get("attempts", 1),
            "data": data,
            "result": result,
            "failedReason": failed_reason,
            "stacktrace": stacktrace,
            "timestamp": timestamp,
            "processedOn": processed_on,
            "finishedOn": finished_on,
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
            dlq_id = keys.dlq_job_id(self.names.main, job_id)
            await self.dlq.add(job.name, record, cast(Any, {"jobId": dlq_id, "attempts": 1}))
            if wants_fix(job.data):
                await self.request_fix(dlq_id)
            else:
                # Every final failure goes to memory; a resolution request does that itself.
                await self.reasoning.add("remember", {"dlqId": dlq_id},
                                         cast(Any, {**_REASONING_OPTS, "jobId": keys.remember_job_id(
                                             self.names.main, job_id)}))
            await self.main.remove(job_id)
            return True
        finally:
            await self.redis.delete(lock)

    async def request_fix(self, dlq_id: str) -> str:
        """Durably ask the AI layer to resolve a dead job (a job on the reasoning queue)."""
        dead = await self.dead_job(dlq_id)
        if dead is None:
            raise JobNotFoundError(f"DLQ job {dlq_id!r} not found")
        rid = keys.reasoning_job_id(dead.queue, dead.job_id)
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
        """One DLQ entry, or None."""
        job = await Job.fromId(self.dlq, dlq_id)
        if job is None or not isinstance(job.data, dict):
            return None
        return DeadJob.from_record(dlq_id, job.data)

    async def list_dead(self, page: int, size: int) -> tuple[int, list[DeadJob]]:
        """A page (1-based) of DLQ entries, newest first, with the total."""
        counts = await self.dlq.getJobCounts("waiting", "paused", "prioritized")
        total = sum(int(v) for v in counts.values())
        start = (page - 1) * size
        jobs = await self.dlq.getJobs(["waiting", "paused", "prioritized"], start, start + size - 1, False)
        return total, [DeadJob.from_record(str(j.id), j.data) for j in jobs if isinstance(j.data, dict)]

    async def retry_dead(self, dlq_id: str, *, job_id: str | None = None) -> str:
        """Re-enqueue a dead job into its original queue with fresh attempts; it leaves the DLQ.

        ``job_id`` names the new job (a heal's retry: adding it twice adds it once).
        """
        dead = await self.dead_job(dlq_id)
        if dead is None:
            raise JobNotFoundError(f"DLQ job {dlq_id!r} not found")
        opts = {k: v for k, v in dead.opts.items() if k not in _RESERVED_OPTS}
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
