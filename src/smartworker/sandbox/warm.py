"""Warm sandbox sessions, host side: a bwrap sandbox started ahead, running the fork server.

A session is started before any candidate is known, with an empty app directory mounted at ``/app``;
its runner imports what every run needs and waits. A candidate claims a spare session, fills the
directory with its copy of the app tree, sends its runs (each becomes a fresh child process inside,
see :mod:`smartworker.sandbox.fork_server`), and closes the session when they are done: one candidate
per session, never reused, so nothing one candidate does reaches another's runs. The runs of one
candidate share the session's copy, private /tmp and process cap.

Sessions use plain threads for their pipes rather than the event loop, so a backend outlives any one
``asyncio.run`` (tests, the CLI) and a spare never belongs to a loop that has closed.
"""

from __future__ import annotations

import asyncio
import base64
import collections
import concurrent.futures
import contextlib
import itertools
import json
import os
import select
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import psutil

from smartworker.sandbox import workspace
from smartworker.sandbox.base import SandboxLimits
from smartworker.sandbox.process import TAIL_BYTES, ProcessResult

if TYPE_CHECKING:
    from smartworker.sandbox.bwrap import PidsCgroup

T = TypeVar("T")

#: How long a session may take to import and say it is ready before its runs count as crashed.
READY_TIMEOUT_S = 30.0
#: On top of a run's own limit: the fork server enforces the limit; this is for a server that hangs.
BACKSTOP_S = 5.0

#: The one thread that starts sessions. bwrap's --die-with-parent fires when the THREAD that started
#: it exits, so sessions must not be started from a pool thread that ``asyncio.run`` joins at its end.
_spawner = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="sandbox-spawn")


#: Where finished sessions are reaped and their copies removed, off the path to the verdict.
_closer = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="sandbox-close")


async def in_spawner(fn: Callable[[], T]) -> T:
    """Run ``fn`` (which starts sessions) on the long-lived spawner thread."""
    return await asyncio.wrap_future(_spawner.submit(fn))


class Teardown:
    """Sessions killed at once and cleaned up (reaped, cgroup and copy removed) in the background."""

    def __init__(self) -> None:
        self._pending: set[concurrent.futures.Future[None]] = set()
        self._lock = threading.Lock()

    def end(self, session: WarmSession) -> None:
        """Kill ``session`` now; reap and clean it up on the closer thread."""
        session.kill()
        done = _closer.submit(session.close)
        with self._lock:
            self._pending.add(done)
        done.add_done_callback(self._forget)

    def _forget(self, done: concurrent.futures.Future[None]) -> None:
        with self._lock:
            self._pending.discard(done)

    async def settle(self) -> None:
        """Wait until every ended session is gone from the host (processes, cgroup, copy), and every
        spare asked for so far has been started."""
        await asyncio.wrap_future(_spawner.submit(lambda: None))  # one thread, in order: after the refills
        with self._lock:
            pending = list(self._pending)
        for done in pending:
            await asyncio.wrap_future(done)


class WarmSession:
    """One running bwrap sandbox with the fork server inside, for one candidate's runs."""

    def __init__(self, argv: list[str], copy: Path, limits: SandboxLimits, cgroup: PidsCgroup | None,
                 preexec: Callable[[], None], nproc: int | None) -> None:
        self.copy = copy  #: the host directory mounted at /app; empty until :meth:`fill`
        self.limits = limits
        self.cgroup = cgroup
        self.nproc = nproc  #: RLIMIT_NPROC for each run when no pids cgroup caps the session
        self.ready: concurrent.futures.Future[bool] = concurrent.futures.Future()
        self._pending: dict[int, concurrent.futures.Future[dict[str, Any] | None]] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()  # apart from _lock: a blocked write must not stall the reader
        self._stderr = bytearray()
        self.dead = False
        self._doomed: list[psutil.Process] | None = None  # the session's processes when it was killed
        self.proc = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            start_new_session=True, env={"PATH": "/usr/bin:/bin"}, preexec_fn=preexec,
        )
        self._readers = [threading.Thread(target=self._read_channel, daemon=True, name="sandbox-channel"),
                         threading.Thread(target=self._read_stderr, daemon=True, name="sandbox-stderr")]
        for thread in self._readers:
            thread.start()

    @property
    def warmed(self) -> bool:
        """True once the runner inside has imported everything and waits for runs."""
        return self.ready.done() and self.ready.result()

    def _read_channel(self) -> None:
        assert self.proc.stdout
        with contextlib.suppress(ValueError, OSError):  # the pipe closed under us: the session ended
            for line in self.proc.stdout:
                try:
                    frame = json.loads(line)
                except ValueError:
                    continue
                if not isinstance(frame, dict):
                    continue
                if frame.get("ready"):
                    _settle(self.ready, True)
                    continue
                with self._lock:
                    waiting = self._pending.pop(frame.get("id"), None)  # type: ignore[arg-type]
                if waiting is not None:
                    _settle(waiting, frame)
        with self._lock:
            self.dead = True
            pending, self._pending = self._pending, {}
        _settle(self.ready, False)
        for waiting in pending.values():
            _settle(waiting, None)

    def _read_stderr(self) -> None:
        assert self.proc.stderr
        with contextlib.suppress(ValueError, OSError):
            while chunk := os.read(self.proc.stderr.fileno(), 65536):
                self._stderr += chunk
                if len(self._stderr) > 2 * TAIL_BYTES:
                    del self._stderr[:-TAIL_BYTES]

    def claim(self) -> None:
        """Give every process of the session the normal priority (a spare warms up at a lower one);
        runs forked afterwards inherit it."""
        for _ in range(2):  # twice: bwrap may start the runner between reading the list and renicing
            with contextlib.suppress(OSError, ValueError):
                if self.cgroup is not None:
                    pids = [int(p) for p in Path(self.cgroup.procs_file).read_text().split()]
                else:
                    pids = [self.proc.pid, *(child.pid for child in _children(self.proc.pid))]
                for pid in pids:
                    with contextlib.suppress(OSError):
                        os.setpriority(os.PRIO_PROCESS, pid, 0)

    def fill(self, app_root: Path, changed_files: dict[str, str]) -> None:
        """Put the candidate's copy of the app tree where the session sees /app."""
        workspace.fill(self.copy, app_root, changed_files, max_bytes=self.limits.copy_max_mb * 2**20)

    async def wait_ready(self, timeout_s: float = READY_TIMEOUT_S) -> bool:
        """Wait until the runner inside is ready; False when it died or took longer than ``timeout_s``."""
        try:
            return await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(self.ready)), timeout_s)
        except TimeoutError:
            return False

    def _ended(self, started: float) -> ProcessResult:
        """The result of a run whose session ended without reporting it."""
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=1.0)
        code = self.proc.returncode
        return ProcessResult(exit_code=code if code is not None else 1, channel=b"", channel_overflow=False,
                             stderr_tail=bytes(self._stderr[-TAIL_BYTES:]), timed_out=False,
                             duration_s=time.perf_counter() - started)

    async def run(self, payload: dict[str, Any], limits: SandboxLimits) -> ProcessResult:
        """Run one request in a fresh child inside the session; the same result a cold run gives."""
        started = time.perf_counter()
        waiting: concurrent.futures.Future[dict[str, Any] | None] = concurrent.futures.Future()
        with self._lock:
            run_id = next(self._ids)
            if not self.dead:
                self._pending[run_id] = waiting
        if self.dead:
            return await asyncio.to_thread(self._ended, started)
        child_limits = {**asdict(limits), "nproc": self.nproc}
        line = (json.dumps({"id": run_id, "request": payload, "limits": child_limits}) + "\n").encode()
        try:
            if not self._send_now(line):
                await asyncio.to_thread(self._send, line)
            frame = await asyncio.wait_for(asyncio.wrap_future(waiting), limits.timeout_s + BACKSTOP_S)
        except TimeoutError:
            # The fork server enforces the limit itself; silence past it means the server is stuck.
            await asyncio.to_thread(self.close)
            return ProcessResult(exit_code=None, channel=b"", channel_overflow=False,
                                 stderr_tail=bytes(self._stderr[-TAIL_BYTES:]), timed_out=True,
                                 duration_s=time.perf_counter() - started)
        if frame is None:
            return await asyncio.to_thread(self._ended, started)
        return ProcessResult(
            exit_code=int(frame["exit_code"]) if frame.get("exit_code") is not None else None,
            channel=base64.b64decode(frame.get("answer") or ""), channel_overflow=bool(frame.get("overflow")),
            stderr_tail=base64.b64decode(frame.get("stderr") or ""), timed_out=bool(frame.get("timed_out")),
            duration_s=time.perf_counter() - started,
        )

    def _send_now(self, line: bytes) -> bool:
        """Write a short request at once, on the caller's thread; False when it must go through a thread.

        Up to PIPE_BUF bytes a pipe write is one piece, and the runner reads its stdin all the time, so
        this cannot stall the event loop for long; a longer line, or another write under way, waits in
        a thread instead.
        """
        if len(line) > select.PIPE_BUF or not self._write_lock.acquire(blocking=False):
            return False
        try:
            self._write(line)
        finally:
            self._write_lock.release()
        return True

    def _send(self, line: bytes) -> None:
        with self._write_lock:
            self._write(line)

    def _write(self, line: bytes) -> None:
        assert self.proc.stdin
        fd = self.proc.stdin.fileno()
        view = memoryview(line)
        # A session that died before reading is reported by the channel reader, not here.
        with contextlib.suppress(OSError, ValueError):
            while view:
                view = view[os.write(fd, view):]

    def kill(self) -> None:
        """SIGKILL the session now: bwrap's death takes its PID namespace, so every process in it, along."""
        if self._doomed is None:  # noted before the signal: afterwards the tree is gone
            self._doomed = _process_tree(self.proc.pid)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            self.proc.kill()

    def close(self) -> None:
        """Kill the session and everything in it, and remove its cgroup and copy; idempotent."""
        self.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=5.0)
        # bwrap exits at once; the namespace's processes die after it (the runner, its init, by the
        # parent-death signal, and the kernel then kills the rest), which takes a while on a busy host.
        _wait_gone(self._doomed or [], timeout_s=5.0)
        for thread in self._readers:
            thread.join(timeout=2.0)
        for pipe in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()
        if self.cgroup is not None:
            self.cgroup.close()
        if self.copy.parent.exists():
            workspace.remove(self.copy)


def _children(pid: int) -> list[psutil.Process]:
    """The direct children of ``pid``, none once it is gone."""
    try:
        return psutil.Process(pid).children()
    except psutil.Error:
        return []


def _process_tree(root: int) -> list[psutil.Process]:
    """``root`` and its descendants. psutil keeps each one's start time, so a pid the kernel hands to a
    new process later is not taken for one of these."""
    try:
        process = psutil.Process(root)
        return [process, *process.children(recursive=True)]
    except psutil.Error:
        return []


def _alive(process: psutil.Process) -> bool:
    """Running and not a zombie: a zombie holds no resources and its parent reaps it in its own time."""
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _wait_gone(tree: list[psutil.Process], timeout_s: float) -> None:
    """Wait until none of ``tree``'s processes lives any more."""
    deadline = time.monotonic() + timeout_s
    while any(_alive(process) for process in tree):
        if time.monotonic() > deadline:
            return
        time.sleep(0.02)


def _settle(future: concurrent.futures.Future[Any], value: Any) -> None:
    # A waiter that gave up (timed out, cancelled) has cancelled its future already.
    with contextlib.suppress(concurrent.futures.InvalidStateError):
        future.set_result(value)


class SparePool:
    """Sessions started ahead, so a candidate finds one already warm."""

    def __init__(self, start: Callable[[], WarmSession], size: int) -> None:
        self._start = start
        self.size = size
        self._spares: collections.deque[WarmSession] = collections.deque()
        self._lock = threading.Lock()

    def take_warm(self) -> WarmSession | None:
        """A warmed spare, if one waits, else None; never blocks (call it on the event loop)."""
        with self._lock:
            chosen = next((s for s in self._spares if s.warmed and not s.dead), None)
            if chosen is not None:
                self._spares.remove(chosen)
        if chosen is not None:
            chosen.claim()
            _spawner.submit(self.refill)
        return chosen

    def take(self) -> WarmSession:
        """A spare session (a warmed one first; a new one if none is left). Call on the spawner thread."""
        with self._lock:
            gone = [s for s in self._spares if s.dead]
            live = [s for s in self._spares if not s.dead]
            chosen = next((s for s in live if s.warmed), live[0] if live else None)
            if chosen is not None:
                live.remove(chosen)
            self._spares = collections.deque(live)
        for session in gone:
            session.close()
        if chosen is None:
            chosen = self._start()
        chosen.claim()
        # The replacement starts after the caller has its session (the spawner thread runs one task
        # at a time, so this refill follows the claim instead of delaying it).
        _spawner.submit(self.refill)
        return chosen

    def refill(self) -> None:
        """Start sessions until ``size`` spares exist (the lock is not held while one starts)."""
        while True:
            with self._lock:
                if len(self._spares) >= self.size:
                    return
            session = self._start()
            with self._lock:
                self._spares.append(session)

    def sessions(self) -> list[WarmSession]:
        """The spares, idle (for tests and health: what a backend holds between candidates)."""
        with self._lock:
            return list(self._spares)

    def close(self) -> None:
        """Kill every spare."""
        with self._lock:
            spares, self._spares = list(self._spares), collections.deque()
        for session in spares:
            session.close()
