"""Bounded shutdown: every step of taking a process down gets a deadline and a timing.

Seen once in CI: ``smartworker up`` logged uvicorn's "Application shutdown complete" and then did
not exit, with its embedded PostgreSQL still running, and nothing said which step hung. Here each
step is timed (the times go into the final "stopped" log line), one that fails is logged and the
rest still run, and one that outlives its deadline is logged by name and left behind so the process
exits. Workers are the exception: they wait for the jobs they hold, as long as their own rules say
(``SHUTDOWN_TIMEOUT`` for handlers; a resolution runs to its end), so their steps are timed only.
A blocking stop runs in a daemon thread rather than asyncio's executor: ``asyncio.run``
joins the executor's threads on exit, so a stuck thread there would block the exit all the same.
A second Ctrl-C shortens the workers' wait: ``hand_back`` puts their jobs back in the queue at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from smartworker.logs import get_logger

if TYPE_CHECKING:
    from bullmq import Worker

log = get_logger(__name__)

T = TypeVar("T")

#: Deadline of a step that only closes connections or stops a local server (each normally takes
#: well under a second; the embedded PostgreSQL's checkpoint on stop is the slowest, ~1 s).
STEP_TIMEOUT_S = 20.0


def check_cancelled() -> None:
    """Raise CancelledError when someone cancelled the running task, even if the cancellation was lost.

    A cancel() that lands while a Redis call's own read timeout fires can be taken for that timeout
    (asyncio.timeout in Python 3.11), which the client then retries: the call returns normally and the
    task, still marked as cancelling, loops on while its canceller waits for it. Seen as a worker close
    that hung in CI. Background loops call this once per round.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


async def stop_tasks(tasks: list[asyncio.Task[Any]], timeout: float, what: str) -> None:
    """Cancel ``tasks`` and wait up to ``timeout`` s for them; name those that are still running."""
    for task in tasks:
        task.cancel()
    if not tasks:
        return
    _, pending = await asyncio.wait(tasks, timeout=timeout)
    if pending:
        log.error("background tasks did not stop; leaving them", of=what,
                  tasks=sorted(task.get_name() for task in pending), timeout_s=timeout)


async def in_daemon_thread(fn: Callable[[], T]) -> T:
    """Run a blocking call in a daemon thread: awaitable, and never in the way of the exit."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(value: T | None, error: BaseException | None) -> None:
        if future.done():  # the awaiting step gave up on it
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(value)  # type: ignore[arg-type]

    def hand_over(value: T | None, error: BaseException | None) -> None:
        # A closed loop raises RuntimeError: the step was left behind and nobody is waiting.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(settle, value, error)

    def target() -> None:
        try:
            value = fn()
        except BaseException as exc:  # handed to the awaiting coroutine, not lost in the thread
            hand_over(None, exc)
            return
        hand_over(value, None)

    threading.Thread(target=target, name=f"stop-{getattr(fn, '__qualname__', 'call')}", daemon=True).start()
    return await future


class Shutdown:
    """The steps of one shutdown, run in order, each timed and, unless told otherwise, bounded."""

    def __init__(self) -> None:
        #: Seconds each step took, by name (a step that timed out shows its deadline).
        self.seconds: dict[str, float] = {}
        #: Steps that failed or did not finish in time.
        self.failed: list[str] = []

    async def step(self, name: str, action: Awaitable[Any], timeout: float | None = STEP_TIMEOUT_S) -> bool:
        """Await ``action`` for at most ``timeout`` s (None: as long as it takes).

        True when it finished; a failure or a timeout is logged with the step's name and returns
        False, so the caller goes on with the next step.
        """
        started = time.monotonic()
        try:
            await asyncio.wait_for(action, timeout)
        except TimeoutError:
            log.error("shutdown step timed out; left behind", step=name, timeout_s=timeout)
            self.failed.append(name)
            return False
        except Exception as exc:
            log.error("shutdown step failed", step=name, error=f"{type(exc).__name__}: {exc}")
            self.failed.append(name)
            return False
        finally:
            self.seconds[name] = round(time.monotonic() - started, 3)
        return True


#: The BullMQ script that moves one active job back to its queue's wait list, releasing its lock
#: (bullmq ships it but registers no Python call for it).
_HAND_BACK_SCRIPT = "moveJobFromActiveToWait-9.lua"
_HAND_BACK_KEYS = ["active", "wait", "stalled", "paused", "meta", "limiter", "prioritized", "marker", "events"]


async def hand_back(worker: Worker) -> int:
    """Stop a BullMQ worker's jobs in flight and put them back at the head of their queue, unlocked.

    For a shutdown that cannot wait: the jobs run again on the next worker at once, instead of
    after their lock expires and a stalled check finds them (which also counts a stall against them).
    Returns how many jobs went back.
    """
    held = list(worker.jobs)
    worker.forceClosing = True  # the cancelled handlers' jobs are neither completed nor failed
    try:
        # Moved before the handlers are cancelled: once they end, the worker's close() closes the
        # connection these moves need.
        return await _move_back(worker, held)
    finally:
        worker.cancelProcessing()


async def _move_back(worker: Worker, held: list[Any]) -> int:
    from bullmq.redis_connection import loadScript

    if not held:
        return 0
    scripts = worker.scripts
    move = scripts.redisClient.register_script(loadScript(_HAND_BACK_SCRIPT))
    keys = scripts.getKeys(_HAND_BACK_KEYS)
    moved = 0
    for job, token in held:
        try:
            code = await move(keys=keys, args=[job.id, token, scripts.toKey(job.id)])
        except Exception as exc:  # its lock expires and the stalled check returns it later
            log.warning("could not hand a job back", job_id=job.id, error=f"{type(exc).__name__}: {exc}")
            continue
        if int(code) >= 0:
            moved += 1
    log.info("jobs handed back to the queue", queue=worker.name, count=moved)
    return moved
