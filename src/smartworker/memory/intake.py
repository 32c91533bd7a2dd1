"""Storing final failures in the failure memory: the memory queue, its worker, and the repeat fast path.

Every final failure becomes a ``remember`` job on its own queue (``<main>-memory``), apart from
the reasoning queue on purpose: there resolutions run one at a time, and a storm of failures queued
in front of them delayed every resolution by the whole backlog.

A storm is mostly one bug failing again and again. Extracting a failure's context (reading and
redacting its source snippets) costs several milliseconds, and storing a repeat needs none of it:
``Intake`` remembers, per *raw key* (queue, job name, normalised signature and the traceback's
frames without line numbers, all read straight from the dead job), the occurrence key the full
extraction gave, and counts the next failure with the same raw key without extracting it. The
occurrence key depends on nothing else, so a raw key hit never counts a failure on the wrong row.
Repeats counted at the same time share one SQL statement (``Counter``): the store has one
connection, and a round trip per repeat was most of a repeat's time.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import OrderedDict
from typing import Any

from bullmq import Job

from smartworker.config import Settings
from smartworker.errors import JobNotFoundError
from smartworker.fetch_next import WakingFetchNextWorker
from smartworker.logs import get_logger
from smartworker.memory.interface import FailureMemory
from smartworker.queues import DeadJob, Queues
from smartworker.reasoning.context import error_signature, extract, last_traceback, parse_traceback, split_failure
from smartworker.shutdown import hand_back

log = get_logger(__name__)

#: Failures stored at once. The store uses one connection and one embedding thread, so more
#: would only queue there; a few overlap the Redis reads and context extraction with them.
CONCURRENCY = 8
#: Raw keys remembered (a few hundred bytes each).
KNOWN_KEYS = 4096
#: Repeats counted in one statement at most.
BATCH = 256


def raw_key(dead: DeadJob) -> str:
    """What decides a failure's occurrence key, read from the dead job without extracting its context."""
    tb = last_traceback(dead.stacktrace)
    exception_type, message = split_failure(dead.failed_reason, tb)
    parts = [dead.queue, dead.name, error_signature(exception_type, message)]
    parts += [f"{f.file}\0{f.function}\0{f.code.strip()}" for f in parse_traceback(tb)]
    return hashlib.sha256("\n".join(parts).encode("utf-8", "surrogatepass")).hexdigest()


class Counter:
    """Counts repeats in batches: the callers waiting while one statement runs go in the next."""

    def __init__(self, memory: FailureMemory) -> None:
        self.memory = memory
        self._pending: list[tuple[tuple[str, str, str], asyncio.Future[int | None]]] = []
        self._running: asyncio.Task[None] | None = None

    async def count(self, queue: str, job_id: str, key: str) -> int | None:
        """The failure id the repeat was counted on, or None when no stored failure has ``key``."""
        future: asyncio.Future[int | None] = asyncio.get_running_loop().create_future()
        self._pending.append(((queue, str(job_id), key), future))
        if self._running is None:
            self._running = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        try:
            while self._pending:
                batch, self._pending = self._pending[:BATCH], self._pending[BATCH:]
                try:
                    found = await self.memory.count_occurrences([item for item, _ in batch])
                except Exception as exc:  # every caller of this batch gets the store's error
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                for (_, future), failure_id in zip(batch, found, strict=True):
                    if not future.done():
                        future.set_result(failure_id)
        finally:
            self._running = None


class Intake:
    """Stores dead jobs' failures in ``memory``; a repeat of a failure seen before skips extraction."""

    def __init__(self, memory: FailureMemory, settings: Settings, entries: int = KNOWN_KEYS) -> None:
        self.memory = memory
        self.settings = settings
        self._entries = entries
        self._keys: OrderedDict[str, str] = OrderedDict()
        self._counter = Counter(memory)
        #: failures counted by the fast path, and failures extracted in full
        self.fast = 0
        self.full = 0

    async def remember(self, dead: DeadJob) -> int:
        """Store or count the failure of ``dead``; the id of its failure row."""
        from smartworker.memory.store import context_key

        raw = raw_key(dead)
        key = self._keys.get(raw)
        if key is not None:
            failure_id = await self._counter.count(dead.queue, dead.job_id, key)
            if failure_id is not None:
                self._keys.move_to_end(raw)
                self.fast += 1
                return failure_id
        ctx = extract(queue=dead.queue, job_id=dead.job_id, job_name=dead.name, attempts=dead.attempts_made,
                      data=dead.data, opts=dead.opts, failed_reason=dead.failed_reason,
                      stacktrace=dead.stacktrace, app_root=self.settings.app_root)
        failure_id = await self.memory.remember_failure(ctx)
        self.full += 1
        self._keys[raw] = context_key(ctx)
        self._keys.move_to_end(raw)
        while len(self._keys) > self._entries:
            self._keys.popitem(last=False)
        return failure_id

    async def remember_repeats(self, deads: list[DeadJob]) -> set[str]:
        """Count those of ``deads`` that repeat a failure stored before, in one statement; their ids.

        The fast path of ``remember`` alone, for the DLQ move to call (``Queues.move_many_to_dlq``):
        a failure not seen before needs its context extracted, which is the memory worker's job.
        """
        known = [(dead, raw, key) for dead in deads
                 if (key := self._keys.get(raw := raw_key(dead))) is not None]
        if not known:
            return set()
        found = await self.memory.count_occurrences([(dead.queue, dead.job_id, key) for dead, _, key in known])
        counted: set[str] = set()
        for (dead, raw, _), failure_id in zip(known, found, strict=True):
            if failure_id is None:
                continue
            counted.add(dead.id)
            if raw in self._keys:  # recently seen, as in ``remember``: kept longest
                self._keys.move_to_end(raw)
        self.fast += len(counted)
        return counted


class RememberWorker:
    """Consumes the memory queue: each ``remember`` job stores one dead job's failure."""

    def __init__(self, settings: Settings, queues: Queues, memory: FailureMemory | None,
                 concurrency: int = CONCURRENCY) -> None:
        self.settings = settings
        self.queues = queues
        self.intake = Intake(memory, settings) if memory is not None else None
        self.concurrency = concurrency
        self._worker: WakingFetchNextWorker | None = None

    async def start(self) -> None:
        """Start consuming (without a memory the jobs are consumed and dropped: nothing to store them in)."""
        opts = {"connection": self.queues.redis_url, "prefix": self.settings.queue_prefix,
                "concurrency": self.concurrency}
        # A storm puts hundreds of short jobs a second here: completing one fetches the next in the
        # same call, and the completions of a moment share one round trip (fetch_next.py).
        self._worker = WakingFetchNextWorker(self.queues.names.memory, self._process, opts)
        log.debug("memory intake started", queue=self.queues.names.memory, concurrency=self.concurrency)

    async def _process(self, job: Job, token: str) -> Any:
        dlq_id = str((job.data or {}).get("dlqId", ""))
        if self.intake is None:
            return {"remembered": None}
        dead = await self.queues.dead_job(dlq_id)
        if dead is None:
            raise JobNotFoundError(f"DLQ job {dlq_id!r} not found")
        return {"remembered": dlq_id, "failure": await self.intake.remember(dead)}

    async def hurry(self) -> None:
        """Hand the jobs in flight back to the queue now (a second Ctrl-C)."""
        if self._worker is not None:
            await hand_back(self._worker)

    async def close(self) -> None:
        """Let the failures being stored finish, then stop."""
        if self._worker is not None:
            await self._worker.close()
