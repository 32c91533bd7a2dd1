"""The failure intake in a process of its own, at a lower CPU priority than the main queue's worker.

What a final failure costs happens mostly after it failed: its move to the dead-letter queue (about
eight Redis calls), its ``remember`` job, then an occurrence counted or, for a new failure, its
chunks embedded. Run in the main worker's process, that work took the event loop and a core from
the jobs still queued: in a storm of 10 % failing jobs the main queue ran at about half its speed.

``smartworker worker`` and ``up`` therefore start, when the memory is on, one child that moves the
main queue's final failures to the DLQ (``FailureMover``) and stores them (``RememberWorker``), at
nice ``INTAKE_NICE``: it gets the CPU the main queue leaves, and while it waits the failures wait
durably in Redis (BullMQ's failed set, then the memory queue). The main worker's own failure hook
and its periodic sweep are off then (``JobWorker(move_failures=False)``): the mover is that sweep,
and a child that dies is started again.

The mover moves what it finds as one batch (``Queues.move_many_to_dlq``: a few round trips for all
of it) and counts the repeats of failures already stored itself, one statement per batch
(``Intake.remember_repeats``); only new failures, which need their context extracted and embedded,
become ``remember`` jobs. Redis is the main queue's too, and a queued job per repeat cost it about
forty commands.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys

from smartworker.logs import get_logger
from smartworker.memory.intake import RememberWorker
from smartworker.queues import Queues, StoreHook

log = get_logger(__name__)

#: The child's niceness: below the main worker (0), so a storm's intake takes the spare CPU only.
INTAKE_NICE = 10
#: How often the mover looks at the main queue's failed set when the last look found little.
MOVE_EVERY_S = 0.1
#: Failed jobs taken per look and moved together (``Queues.move_many_to_dlq``: a few round trips
#: for the whole batch).
MOVE_BATCH = 200


class FailureMover:
    """Moves the main queue's final failures (its failed set) to the DLQ, a batch at a time."""

    def __init__(self, queues: Queues, every_s: float = MOVE_EVERY_S, batch: int = MOVE_BATCH,
                 store: StoreHook | None = None) -> None:
        """``store``: counts the repeats of failures stored before (``Intake.remember_repeats``)."""
        self.queues = queues
        self.store = store
        self.every_s = every_s
        self.batch = batch
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()
        #: failures this mover moved
        self.moved = 0

    async def start(self) -> None:
        """Start looking."""
        self._task = asyncio.create_task(self._run(), name="failure-mover")

    async def move_once(self) -> int:
        """Move what the failed set holds now (up to ``batch``); how many this call moved."""
        ids = await self.queues.main.backend.getRanges(["failed"], 0, self.batch - 1, True)
        try:
            moved = await self.queues.move_many_to_dlq([str(i) for i in ids], self.store) if ids else 0
        except Exception as exc:  # left in the failed set: the next look tries again
            log.warning("DLQ move failed; retrying", error=f"{type(exc).__name__}: {exc}")
            return 0
        self.moved += moved
        return moved

    async def _run(self) -> None:
        while not self._stop.is_set():
            try:
                moved = await self.move_once()
            except Exception as exc:
                log.warning("failure mover: Redis failed", error=f"{type(exc).__name__}: {exc}")
                moved = 0
            if moved < self.batch:  # else more are waiting: look again at once
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), self.every_s)

    async def close(self) -> None:
        """Stop after the moves in progress (so none is cut between its DLQ copy and its removal)."""
        self._stop.set()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)

    async def hurry(self) -> None:
        """Nothing to hand back: a failure not moved yet stays in the failed set."""


class IntakeParts:
    """The child's two parts: moving failures to the DLQ, then storing them."""

    def __init__(self, mover: FailureMover, remember: RememberWorker) -> None:
        self.mover = mover
        self.remember = remember

    async def start(self) -> None:
        """Start both."""
        await self.remember.start()
        await self.mover.start()

    async def close(self) -> None:
        """No new moves, then let the failures being stored finish."""
        await self.mover.close()
        await self.remember.close()

    async def hurry(self) -> None:
        """Hand the ``remember`` jobs in flight back to their queue."""
        await self.remember.hurry()


async def _child() -> int:
    """The intake child: the Redis and database its parent uses (``REDIS_URL``, ``DATABASE_URL``)."""
    from smartworker import metrics
    from smartworker.config import load_settings
    from smartworker.errors import SmartWorkerError
    from smartworker.logs import configure
    from smartworker.memory.embeddings import make_provider
    from smartworker.memory.store import MemoryStore
    from smartworker.scaleout import default_processes, until_stopped
    from smartworker.service import data_path

    try:
        settings = load_settings()
        configure(production=settings.production, level=settings.log_level)
        redis_url, dsn = settings.redis_dsn(), settings.database_dsn()
        if redis_url is None or dsn is None:
            print("smartworker intake process: REDIS_URL and DATABASE_URL must be set", file=sys.stderr)
            return 2
        metrics.setup(settings, data_path(settings))
        queues = Queues(settings, redis_url)
        # Embeddings on every core: this process runs below the main worker's priority.
        provider = make_provider(settings, threads=default_processes())
        memory = await MemoryStore.open(settings, provider=provider, dsn=dsn)
    except SmartWorkerError as exc:
        print(f"smartworker intake process: {exc.message}", file=sys.stderr)
        return 2
    try:
        remember = RememberWorker(settings, queues, memory)
        # The mover counts repeats itself; the memory worker extracts and stores what is new, and
        # what the mover learns to count from it.
        store = remember.intake.remember_repeats if remember.intake is not None else None
        await until_stopped(IntakeParts(FailureMover(queues, store=store), remember))
    finally:
        await memory.close()
        await queues.close()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(_child()))
