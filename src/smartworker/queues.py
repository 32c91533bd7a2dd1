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
from collections.abc import Awaitable, Callable
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
from smartworker.metrics import moved_to_dlq
from smartworker.options import checked_schedule, parse_options
from smartworker.telemetry import TELEMETRY_OPTIONS, produce

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


#: ``Queues.move_many_to_dlq``'s hook: given dead jobs, stores what it can in the memory and
#: answers with the DLQ ids it stored.
StoreHook = Callable[[list["DeadJob"]], Awaitable[set[str]]]


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
        # One pooled client for our keys and the queues. Every command is bounded and not
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
        self.memory = Queue(self.names.memory, opts)
        #: failed jobs the batch move could not read, each reported once
        self._unreadable: set[str] = set()

    async def close(self) -> None:
        """Close every connection."""
        for queue in (self.main, self.dlq, self.reasoning, self.sandbox, self.memory):
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
        job = await produce(self.main, name, data, cast(Any, self.job_options(opts)))  # span, trace context
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
        return await self.move_many_to_dlq([job_id]) == 1

    async def move_many_to_dlq(self, job_ids: list[str], store: StoreHook | None = None) -> int:
        """Move final failures of the main queue to the DLQ, each once; how many this call moved.

        In order: a short lock per job (two racing moves move it once), the check that it sits in
        the failed set (delayed or waiting jobs still have attempts), its DLQ copy, its memory job,
        its removal, the unlock. Each step is taken for the whole batch in one round trip: the
        failure mover takes up to a few hundred at a time in a storm, where eight round trips per
        job cost the Redis that the main queue shares more than the work they carry. A job that
        asked for a resolution gets its request instead of a memory job (``request_fix`` looks at
        earlier resolutions first, one job at a time); a job whose copy could not be added stays in
        the failed set for the next look.

        ``store``, when given, is offered the dead jobs once their DLQ copies exist and answers
        with the DLQ ids it stored in the memory itself; only the others get a ``remember`` job.
        A storm's repeats are counted so with one statement instead of a queued job each (about
        forty Redis commands). A store that fails stores nothing: every job then gets its job.
        """
        ids = [str(i) for i in job_ids]
        locks = {i: keys.dlq_move_lock(self.names.main, i) for i in ids}
        async with self.redis.pipeline(transaction=False) as pipe:
            for lock in locks.values():
                pipe.set(lock, "1", nx=True, px=_MOVE_LOCK_MS)
            taken = await pipe.execute()
        mine = [i for i, got in zip(ids, taken, strict=True) if got]
        if not mine:
            return 0
        try:
            return await self._move_locked(mine, store)
        finally:
            await self.redis.delete(*(locks[i] for i in mine))

    async def _move_locked(self, ids: list[str], store: StoreHook | None) -> int:
        """The batch move's steps for jobs whose move locks this call holds."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for job_id in ids:
                pipe.zscore(self.main.keys["failed"], job_id)  # in the failed set: a final failure
                pipe.hgetall(self.main.toKey(job_id))
                pipe.hgetall(self.dlq.toKey(keys.dlq_job_id(self.names.main, job_id)))
                pipe.exists(self.reasoning.toKey(keys.reasoning_job_id(self.names.main, job_id)))
            found = await pipe.execute()
        plain: list[tuple[str, Job, str]] = []
        asking: list[tuple[str, Job, str]] = []
        copied_before: list[tuple[str, Job]] = []
        for n, job_id in enumerate(ids):
            score, raw, earlier, requested = found[4 * n:4 * n + 4]
            if score is None or not raw:
                continue
            try:
                job = Job.fromJSON(self.main, raw, job_id)
            except _UNREADABLE as exc:
                # Another producer's shape BullMQ cannot read: it stays in the failed set (its
                # own view, GET /jobs/{id}, shows why) and does not hold the rest of the batch up.
                if job_id not in self._unreadable:
                    if len(self._unreadable) >= 1024:  # ids long gone
                        self._unreadable.clear()
                    self._unreadable.add(job_id)
                    log.warning("failed job not moved to the DLQ: BullMQ cannot read it", job_id=job_id,
                                error=f"{type(exc).__name__}: {exc}")
                continue
            dlq_id = keys.dlq_job_id(self.names.main, job_id)
            dead = _dead_from_raw(self.dlq, dlq_id, earlier)
            if dead is not None and dead.timestamp == _count(job.timestamp) and (requested or not wants_fix(job.data)):
                # An earlier look copied this failure but could not remove it (a job scheduler's
                # current job answers -8; a crash between the steps): removed again only. A memory
                # job or a fix request each look would count the failure, or resolve it, again and
                # again. (A fix asked for but never requested, after a crash, is requested below.)
                copied_before.append((job_id, job))
                continue
            dlq_id = _dlq_id_after(dlq_id, dead, job.timestamp)
            (asking if wants_fix(job.data) else plain).append((job_id, job, dlq_id))
        added = copied_before + await self._add_copies(plain, store)
        for job_id, job, dlq_id in asking:
            try:
                await self.dlq.add(job.name, _dead_record(self.names.main, job_id, job),
                                   cast(Any, {"jobId": dlq_id, "attempts": 1}))
                await self.request_fix(dlq_id, again=True)
            except Exception as exc:  # it stays failed for the next look; the batch's others go on
                log.warning("DLQ move failed; the job stays failed for the next look", job_id=job_id,
                            error=f"{type(exc).__name__}: {exc}")
                continue
            added.append((job_id, job))
        if not added:
            return 0
        remove = self.main.backend.scripts.commands["removeJob"]
        async with self.redis.pipeline(transaction=False) as pipe:
            for job_id, _ in added:
                # Queue.remove's call (children too), sent with the batch's others.
                await remove(keys=[self.main.toKey(job_id), self.main.keys["repeat"]],
                             args=[job_id, 1, self.main.keys[""]], client=pipe)
            removed = await pipe.execute(raise_on_error=False)
        # 1: removed. Anything else (-8 for a job scheduler's current job, 0 for a locked one) leaves
        # the job in the failed set, and the next look tries the removal again (only that).
        moved = [job for (_, job), result in zip(added, removed, strict=True) if result == 1]
        for job in moved:
            moved_to_dlq(self.names.main, job.name)
        return len(moved)

    async def _add_copies(self, moves: list[tuple[str, Job, str]], store: StoreHook | None) -> list[tuple[str, Job]]:
        """DLQ copies of ``moves``, then memory jobs for those ``store`` did not take; the moves done."""
        if not moves:
            return []
        records = [_dead_record(self.names.main, job_id, job) for job_id, job, _ in moves]
        async with self.redis.pipeline(transaction=False) as pipe:
            for (_, job, dlq_id), record in zip(moves, records, strict=True):
                # What Queue.add sends, queued on the pipeline (bullmq's addBulk does the same).
                await self.dlq.backend.scripts.addJob(Job(self.dlq, job.name, record, {"jobId": dlq_id, "attempts": 1}),
                                                      pipe)
            copies = await pipe.execute(raise_on_error=False)
        copied = [(move, record) for move, record, result in zip(moves, records, copies, strict=True)
                  if self._added(move[0], result)]
        stored: set[str] = set()
        if store is not None and copied:
            try:
                stored = await store([DeadJob.from_record(dlq_id, record) for (_, _, dlq_id), record in copied])
            except Exception as exc:  # the memory jobs below store them instead
                log.warning("memory unavailable to the DLQ move; queued for the memory worker",
                            error=f"{type(exc).__name__}: {exc}")
        queued = [(job_id, job, dlq_id) for (job_id, job, dlq_id), _ in copied if dlq_id not in stored]
        done = [(job_id, job) for (job_id, job, dlq_id), _ in copied if dlq_id in stored]
        if queued:
            async with self.redis.pipeline(transaction=False) as pipe:
                for job_id, _, dlq_id in queued:
                    remember = Job(self.memory, "remember", {"dlqId": dlq_id}, self._remember_opts(job_id))
                    await self.memory.backend.scripts.addJob(remember, pipe)
                results = await pipe.execute(raise_on_error=False)
            done += [(job_id, job) for (job_id, job, _), result in zip(queued, results, strict=True)
                     if self._added(job_id, result)]
        return done

    @staticmethod
    def _added(job_id: str, result: Any) -> bool:
        """Whether an add's answer in a pipeline is a job id (else the move waits for the next look)."""
        if isinstance(result, Exception) or (isinstance(result, int) and result < 0):
            log.warning("DLQ move failed; the job stays failed for the next look", job_id=job_id, error=str(result))
            return False
        return True

    def _remember_opts(self, job_id: str) -> dict[str, Any]:
        return {**_REASONING_OPTS, "jobId": keys.remember_job_id(self.names.main, job_id)}

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
        ids = await self.main.backend.getRanges(["failed"], 0, limit - 1, True)
        return await self.move_many_to_dlq([str(i) for i in ids])

    async def dead_job(self, dlq_id: str) -> DeadJob | None:
        """One DLQ entry, or None (also for an entry that is not ours to read)."""
        return _dead_from_raw(self.dlq, dlq_id, await self.dlq.backend.getJobData(dlq_id) or {})

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
        if key in TELEMETRY_OPTIONS:  # the dead job's trace context: its retry is a message of its own
            continue
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


def _dead_record(queue: str, job_id: str, job: Job) -> dict[str, Any]:
    """What a DLQ job carries as its data: the failed job and its whole failure."""
    return {
        "job": {
            "id": job_id,
            "name": job.name,
            "data": job.data,
            "opts": _plain_opts(job.opts),
            "queue": queue,
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


def _dlq_id_after(dlq_id: str, earlier: DeadJob | None, timestamp: Any) -> str:
    """The DLQ id of a failed job: derived from its id, so a second move of the same failure is a
    no-op; a later job that reused a caller's ``jobId`` gets its own entry (its creation time added)."""
    if earlier is None or earlier.timestamp == _count(timestamp):
        return dlq_id
    return f"{dlq_id}__{timestamp}"


def _dead_from_raw(dlq: Queue, dlq_id: str, raw: dict[str, Any]) -> DeadJob | None:
    """``Queues.dead_job`` of a DLQ job's hash read already."""
    try:
        job = Job.fromJSON(dlq, raw, dlq_id) if raw else None
        if job is None or not isinstance(job.data, dict):
            return None
        return DeadJob.from_record(dlq_id, job.data)
    except _UNREADABLE:
        return None
