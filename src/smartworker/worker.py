"""The worker: runs registered handlers on the main queue and hands final failures to the DLQ.

BullMQ fires ``failed`` on every attempt, so the hook asks Redis whether the job really sits in the
failed set (out of attempts) before moving it. A sweeper repeats the move for anything a crash left
behind, which is what makes the move durable rather than a fire-and-forget callback.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

import structlog
from bullmq import Job, UnrecoverableError

from smartworker import keys
from smartworker.config import Settings
from smartworker.errors import UnknownHandlerError
from smartworker.fetch_next import WakingFetchNextWorker
from smartworker.fixes.reload import watch_code
from smartworker.jobs import HandlerRegistry, JobInfo, bound_job
from smartworker.log_budget import LogBudget
from smartworker.logs import get_logger
from smartworker.metrics import consumed
from smartworker.options import stored_options_problem
from smartworker.queues import Queues, now_ms
from smartworker.shutdown import check_cancelled, hand_back, stop_tasks

log = get_logger(__name__)

#: How many recent successful inputs per handler we keep for regression replays.
RECENT_KEEP = 20
#: Inputs larger than this are not kept for replay (they would bloat Redis).
RECENT_MAX_BYTES = 64 * 1024
#: Keep at most one successful input per handler per this many seconds.
RECENT_EVERY_S = 1.0
HEARTBEAT_S = 5.0
#: How long close() waits for bullmq's own close after the in-flight jobs went back to the queue.
CLOSE_GRACE_S = 10.0
#: How long close() waits for the heartbeat, sweeper and code watcher to stop once cancelled.
BACKGROUND_STOP_S = 5.0
#: A worker whose last beat is older than this is not counted as live.
HEARTBEAT_STALE_MS = 15_000
SWEEP_S = 10.0
#: Minutes of per-minute completed/failed counts BullMQ keeps (one day, ~10 KB per kind).
METRICS_MINUTES = 1440
#: "job failed" lines per second for one handler and exception type; the rest are counted.
FAILURE_LOGS_PER_S = 5


class MainWorker(WakingFetchNextWorker):
    """The main queue's BullMQ worker."""


class JobWorker:
    """Runs handlers for the main queue with BullMQ's worker."""

    def __init__(self, settings: Settings, queues: Queues, registry: HandlerRegistry, *,
                 move_failures: bool = True) -> None:
        """``move_failures``: move final failures to the DLQ (as they happen, and a periodic sweep
        for those a crash left). Off when an intake process does both (memory/intake_process.py)."""
        self.settings = settings
        self.move_failures = move_failures
        self.queues = queues
        self.registry = registry
        self.id = uuid.uuid4().hex[:12]
        self._worker: MainWorker | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._background: list[asyncio.Task[None]] = []
        self._last_remembered: dict[str, float] = {}
        self._failure_logs = LogBudget(FAILURE_LOGS_PER_S)

    async def start(self) -> None:
        """Start consuming the main queue."""
        opts: dict[str, Any] = {
            "connection": self.queues.redis_url,
            "prefix": self.settings.queue_prefix,
            "concurrency": self.settings.worker_concurrency,
            "lockDuration": self.settings.lock_duration_ms,
            "stalledInterval": self.settings.stalled_interval_ms,
            "name": f"smartworker-{self.id}",
            # BullMQ counts finished jobs per minute in Redis (the dashboard's last-hour chart).
            "metrics": {"maxDataPoints": METRICS_MINUTES},
        }
        # bullmq's Worker with Node's one-call complete-and-fetch (fetch_next.py) that wakes on time
        # for delayed jobs and after idle periods (wakeup.py).
        self._worker = MainWorker(self.queues.names.main, consumed(self.queues.names.main, self._process), opts)
        if self.move_failures:
            self._worker.on("failed", self._on_failed)
        self._worker.on("error", self._on_error)
        self._background = [
            asyncio.create_task(self._heartbeat(), name="heartbeat"),
            # With move_failures off the intake process moves them, sweeping included.
            *([asyncio.create_task(self._sweep(), name="dlq-sweeper")] if self.move_failures else []),
            # Re-imports the handlers when a fix is applied or deployed (fixes/reload.py).
            asyncio.create_task(watch_code(self.queues, self.settings.app_module, self.settings.app_root, self.id),
                                name="code-watcher"),
        ]
        log.debug("worker started", queue=self.queues.names.main, worker=self.id,
                 concurrency=self.settings.worker_concurrency,
                 handlers=self.registry.names(hazard_testing=self.settings.hazard_testing))

    async def close(self, timeout: float | None = None) -> None:
        """Stop taking jobs, let in-flight jobs finish for up to ``timeout`` s, then close.

        Jobs still running at the deadline are handed back to the queue without being marked
        failed (``shutdown.hand_back``), so the next worker runs them at once and none is lost.
        """
        timeout = self.settings.shutdown_timeout_s if timeout is None else timeout
        await stop_tasks(self._background, BACKGROUND_STOP_S, "worker")
        if self._worker is not None:
            worker = self._worker
            closing = asyncio.ensure_future(worker.close())
            done, _ = await asyncio.wait({closing}, timeout=timeout)
            if not done:
                log.warning("shutdown timeout: handing in-flight jobs back to the queue",
                            timeout_s=timeout, in_flight=len(worker.jobs))
                await hand_back(worker)
                # The handed-back jobs' tasks are cancelled; bullmq's close ends right after, unless
                # a part of it is stuck on Redis. Never hang a shutdown on that.
                done, _ = await asyncio.wait({closing}, timeout=CLOSE_GRACE_S)
                if not done:
                    log.error("worker did not close after handing its jobs back; leaving it",
                              grace_s=CLOSE_GRACE_S, processing=len(worker.processing))
                    closing.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.queues.redis.zrem(keys.worker_heartbeat(self.queues.names.main), self.id)
        log.info("worker stopped", worker=self.id)

    async def hurry(self) -> None:
        """Hand the jobs in flight back to the queue now (a second Ctrl-C); ``close`` then returns soon."""
        if self._worker is not None:
            await hand_back(self._worker)

    # -- processing -------------------------------------------------------------------------------
    async def _process(self, job: Job, token: str) -> Any:
        attempt = job.attemptsMade + 1
        bound = structlog.contextvars.bind_contextvars(job_id=job.id, queue=self.queues.names.main,
                                                       attempt=attempt, job=job.name)
        try:
            try:
                handler = self.registry.get(job.name, hazard_testing=self.settings.hazard_testing)
            except UnknownHandlerError as exc:
                # Retrying cannot register a handler: fail for good right away.
                raise UnrecoverableError(exc.message) from None
            if (problem := stored_options_problem(job.opts)) is not None:
                # Another producer stored options BullMQ cannot compute with (it would fail inside its
                # own retry logic and leave the job active for ever): fail for good, saying why.
                job.opts = {**job.opts, "attempts": 1, "backoff": None}
                raise UnrecoverableError(f"unusable job options: {problem}")
            data = job.data if isinstance(job.data, dict) else {"value": job.data}
            log.debug("job started")
            with bound_job(JobInfo(str(job.id), job.name, self.queues.names.main, attempt)):
                result = await handler(data)
            json.dumps(result)  # fail here, with the handler's name on it, rather than inside BullMQ
            await self._remember_success(job.name, data)
            log.debug("job completed")
            return result
        except Exception as exc:
            final = attempt >= max(int(job.opts.get("attempts") or 1), 1) or isinstance(exc, UnrecoverableError)
            suppressed = self._failure_logs.admit((job.name, type(exc).__name__, final))
            if suppressed is not None:
                log.warning("job failed", error=f"{type(exc).__name__}: {exc}", final=final,
                            **({"suppressed": suppressed} if suppressed else {}))
            raise
        finally:
            structlog.contextvars.reset_contextvars(**bound)

    async def _remember_success(self, name: str, data: dict[str, Any]) -> None:
        # A sample of recent inputs is enough for a regression replay; writing every success
        # would cost a Redis round trip per job, which halves throughput for short jobs.
        now = time.monotonic()
        if now - self._last_remembered.get(name, -RECENT_EVERY_S) < RECENT_EVERY_S:
            return
        self._last_remembered[name] = now
        encoded = json.dumps(data, separators=(",", ":"))
        if len(encoded) > RECENT_MAX_BYTES:
            return
        key = keys.recent_completed(self.queues.names.main, name)
        async with self.queues.redis.pipeline(transaction=True) as pipe:
            pipe.lrem(key, 0, encoded)
            pipe.lpush(key, encoded)
            pipe.ltrim(key, 0, RECENT_KEEP - 1)
            await pipe.execute()

    # -- failure hook -----------------------------------------------------------------------------
    def _on_failed(self, job: Job, err: BaseException) -> None:
        task = asyncio.ensure_future(self._after_failure(str(job.id)))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _after_failure(self, job_id: str) -> None:
        try:
            if await self.queues.move_to_dlq(job_id):
                log.error("job moved to DLQ", job_id=job_id, queue=self.queues.names.main)
        except Exception as exc:
            # The sweeper retries; the job stays safe in the failed set meanwhile.
            log.warning("DLQ move deferred to the sweeper", job_id=job_id, error=str(exc))

    def _on_error(self, err: BaseException, *_: Any) -> None:
        log.error("worker error", error=f"{type(err).__name__}: {err}")

    # -- background -------------------------------------------------------------------------------
    async def _heartbeat(self) -> None:
        key = keys.worker_heartbeat(self.queues.names.main)
        while True:
            check_cancelled()
            try:
                await self.queues.redis.zadd(key, {self.id: now_ms()})
                await self.queues.redis.zremrangebyscore(key, 0, now_ms() - 4 * HEARTBEAT_STALE_MS)
            except Exception as exc:
                log.warning("heartbeat failed", error=str(exc))
            await asyncio.sleep(HEARTBEAT_S)

    async def _sweep(self) -> None:
        while True:
            check_cancelled()
            try:
                moved = await self.queues.sweep_failed()
                if moved:
                    log.info("sweeper moved failed jobs to the DLQ", count=moved)
            except Exception as exc:
                log.warning("sweep failed", error=str(exc))
            await asyncio.sleep(SWEEP_S)


async def live_workers(queues: Queues) -> int:
    """Workers that beat within the last few seconds."""
    key = keys.worker_heartbeat(queues.names.main)
    return int(await queues.redis.zcount(key, now_ms() - HEARTBEAT_STALE_MS, "+inf"))
