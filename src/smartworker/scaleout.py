"""More worker processes for the main queue, for hosts with more cores than one process can use.

``smartworker worker --processes N`` runs the usual workers in its own process plus N-1 children
that each run only the main queue's JobWorker on the same Redis: one Python process keeps at most
one core busy, and the main queue is where a busy host spends its CPU. Resolutions, sandbox runs
and the local model stay in the parent (a child running them would start a model server of its own).

Children run in sessions of their own, so a terminal's Ctrl-C reaches only the parent, which passes
it on in order: the first signal drains them, a second hands their jobs back to the queue. A child
whose parent is gone stops on its own; one that dies while the parent runs is started again.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from typing import Protocol

from smartworker.logs import get_logger

log = get_logger(__name__)

#: More processes than this on one host is a typo, not a plan.
MAX_PROCESSES = 256
#: A child that dies is started again after this long (a crash loop costs one start per interval).
RESTART_DELAY_S = 2.0
#: Seconds a child gets beyond its own SHUTDOWN_TIMEOUT to exit before it is killed.
EXIT_GRACE_S = 30.0
#: How often a child checks that its parent is still there.
PARENT_CHECK_S = 1.0
#: The parent's pid, set in each child's environment: a child whose parent died while it was still
#: starting (before it could read its parent's pid itself) finds its parent gone all the same.
PARENT_PID_ENV = "SMARTWORKER_PARENT_PID"
#: Set ("1") by the parent in its worker children's environment when an intake process moves the
#: main queue's final failures to the DLQ (memory/intake_process.py): their own moves are off then.
INTAKE_PROCESS_ENV = "SMARTWORKER_INTAKE_PROCESS"


class Part(Protocol):
    """What a child runs: started, then drained (``close``) or hurried."""

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def hurry(self) -> None: ...


def default_processes() -> int:
    """One process per core this process may run on."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # not Linux
        return max(os.cpu_count() or 1, 1)


class WorkerProcesses:
    """``count`` child processes working the main queue, started, drained and hurried as one runner part.

    ``module`` is what each child runs (``python -m module``; by default the main queue's worker
    below), ``env`` what it gets beyond this process's environment and the Redis URL, and ``nice``
    how much lower its CPU priority is than this process's.
    """

    def __init__(self, count: int, redis_url: str, shutdown_timeout_s: float, *,
                 module: str = "smartworker.scaleout", env: dict[str, str] | None = None, nice: int = 0) -> None:
        self.count = count
        self.redis_url = redis_url
        self.shutdown_timeout_s = shutdown_timeout_s
        self.module = module
        self.env = dict(env or {})
        self.nice = nice
        self.children: list[asyncio.subprocess.Process | None] = [None] * count
        self._watchers: list[asyncio.Task[None]] = []
        self._closing = False

    async def start(self) -> None:
        """Start the children (they connect and take jobs on their own)."""
        for slot in range(self.count):
            await self._spawn(slot)
            self._watchers.append(asyncio.create_task(self._watch(slot), name=f"worker-process-{slot + 1}"))

    async def _spawn(self, slot: int) -> None:
        # The parent's Redis, resolved (an embedded one's URL too), so a child never embeds its own.
        env = {**os.environ, **self.env, "REDIS_URL": self.redis_url, PARENT_PID_ENV: str(os.getpid())}
        self.children[slot] = await asyncio.create_subprocess_exec(
            sys.executable, "-m", self.module, env=env, stdin=subprocess.DEVNULL,
            start_new_session=True)
        pid = self.children[slot].pid  # type: ignore[union-attr]
        if self.nice:
            with contextlib.suppress(OSError):  # gone already: the watcher starts it again
                os.setpriority(os.PRIO_PROCESS, pid, min(19, os.getpriority(os.PRIO_PROCESS, 0) + self.nice))
        log.debug("worker process started", module=self.module, slot=slot + 1, pid=pid)

    async def _watch(self, slot: int) -> None:
        while True:
            child = self.children[slot]
            assert child is not None
            code = await child.wait()
            if self._closing:
                return
            log.error("worker process exited; starting it again", slot=slot + 1, pid=child.pid, code=code,
                      in_s=RESTART_DELAY_S)
            await asyncio.sleep(RESTART_DELAY_S)
            if self._closing:
                return
            await self._spawn(slot)

    def _signal(self, sig: signal.Signals) -> None:
        for child in self.children:
            if child is not None and child.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    child.send_signal(sig)

    async def close(self) -> None:
        """Drain the children: each finishes (or, at its deadline, hands back) its jobs and exits."""
        self._closing = True
        for watcher in self._watchers:
            watcher.cancel()
        self._signal(signal.SIGTERM)
        running = [child for child in self.children if child is not None and child.returncode is None]
        if not running:
            return
        waits = [asyncio.ensure_future(child.wait()) for child in running]
        _, late = await asyncio.wait(waits, timeout=self.shutdown_timeout_s + EXIT_GRACE_S)
        if late:
            log.error("worker processes did not exit in time; killing them", count=len(late))
            self._signal(signal.SIGKILL)
            await asyncio.gather(*late, return_exceptions=True)

    async def hurry(self) -> None:
        """Have the children hand their jobs in flight back to the queue now (their second signal)."""
        if not self._closing:  # the hurry can come while an earlier part still drains
            self._closing = True
            self._signal(signal.SIGTERM)
        self._signal(signal.SIGINT)


async def until_stopped(part: Part) -> None:
    """Run ``part`` in a child until SIGTERM/SIGINT or until the parent is gone, then close it.

    The first signal drains it (``close``), a second hands its jobs back (``hurry``).
    """
    parent = int(os.environ.get(PARENT_PID_ENV) or os.getppid())
    stop = asyncio.Event()
    signals = 0
    hurrying: list[asyncio.Future[None]] = []

    def on_signal() -> None:
        nonlocal signals
        signals += 1
        stop.set()
        if signals == 2:
            hurrying.append(asyncio.ensure_future(part.hurry()))

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, on_signal)
    try:
        await part.start()
        while not stop.is_set():
            # First right after starting: the parent may have died while this child was starting.
            if os.getppid() != parent:  # the parent died without stopping us
                log.warning("parent process gone; stopping")
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), PARENT_CHECK_S)
    finally:
        await part.close()


async def _child() -> int:
    """One child: the main queue's JobWorker until SIGTERM/SIGINT or until the parent is gone."""
    from smartworker.config import load_settings
    from smartworker.errors import SmartWorkerError
    from smartworker.logs import configure
    from smartworker.service import Service
    from smartworker.worker import JobWorker

    try:
        settings = load_settings()
        configure(production=settings.production, level=settings.log_level)
        service = await Service.open(settings, embed=False)
    except SmartWorkerError as exc:
        print(f"smartworker worker process: {exc.message}", file=sys.stderr)
        return 2
    try:
        await until_stopped(JobWorker(settings, service.queues, service.registry,
                                      move_failures=os.environ.get(INTAKE_PROCESS_ENV) != "1"))
    finally:
        await service.close()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(_child()))
