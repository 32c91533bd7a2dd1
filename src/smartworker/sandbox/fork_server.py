"""The warm runner inside a sandbox session: imports once, then forks a fresh child for every run.

Each child is one isolated process per run, as a cold runner is: it leads its own process group, gets
the run's rlimits before any user code, /dev/null for stdin, its own answer pipe and stderr pipe, and
no other descriptor of this process (so it cannot read the requests of, or forge the answers for, any
other run). This process is made non-dumpable, so a child cannot reach its memory or descriptors
through /proc or ptrace either. The session itself (namespaces, mounts, the pids cgroup) is the
bwrap sandbox of :mod:`smartworker.sandbox.bwrap`. Only the standard library is imported here.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import resource
import selectors
import signal
import sys
import time
from dataclasses import dataclass, field
from typing import Any, TextIO

#: Imported once here so no run pays for them: the runner's own needs and what handlers commonly use.
PRELOAD = ("asyncio", "concurrent.futures.thread", "smartworker", "smartworker.sandbox.runner", "datetime",
           "decimal", "hashlib", "hmac", "uuid", "logging", "inspect")
#: Largest answer kept, and how much of stderr; the same caps as the host's for a cold run.
CHANNEL_CAP = 8 * 2**20
TAIL_BYTES = 8 * 2**10
#: After a run's process exits (or is killed), how long its pipes may stay open (a grandchild in
#: another process group holds them) before the run is reported anyway.
DRAIN_S = 0.5
PR_SET_DUMPABLE = 4


@dataclass
class _Run:
    """One forked run being watched."""

    id: Any
    pid: int
    deadline: float
    started: float
    answer_fd: int
    stderr_fd: int
    answer: bytearray = field(default_factory=bytearray)
    overflow: bool = False
    stderr: bytearray = field(default_factory=bytearray)
    #: pipe ends still open; a closed number may be reused at once by the next run's pipes
    open_fds: set[int] = field(default_factory=set)
    exit_code: int | None = None
    timed_out: bool = False
    drain_until: float = 0.0


def _not_dumpable() -> None:
    """Stop same-user processes (the children) from reading this process through /proc or ptrace."""
    with contextlib.suppress(Exception):  # ctypes or prctl missing: the pipes still keep runs apart
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)


def _child(run_id: Any, request: dict[str, Any], limits: dict[str, Any], answer_w: int, stderr_w: int) -> None:
    """In the forked child: isolate, limit, run, answer; never returns."""
    code = 70
    try:
        os.setsid()  # its own process group: a timeout kills the run and everything it started
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(answer_w, 1)
        os.dup2(stderr_w, 2)
        for name in os.listdir("/proc/self/fd"):
            if int(name) > 2:
                with contextlib.suppress(OSError):
                    os.close(int(name))
        memory = int(limits["memory_mb"]) * 2**20
        fsize = int(limits["file_mb"]) * 2**20
        cpu = int(limits["cpu_s"])
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
        resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        if limits.get("nproc"):
            nproc = int(limits["nproc"])
            resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
        from smartworker.sandbox.runner import answer, protocol_channel

        answer(request, protocol_channel())
        code = 0
    except BaseException as exc:  # the run must end here whatever happens, never back in the loop
        with contextlib.suppress(BaseException):
            os.write(2, f"smartworker runner: run {run_id!r} failed to start: {exc!r}\n".encode())
    finally:
        with contextlib.suppress(BaseException):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


class ForkServer:
    """Reads run requests, forks one child per run, and reports each run's end on the channel."""

    def __init__(self, channel: TextIO) -> None:
        self.channel = channel
        self.selector = selectors.DefaultSelector()
        self.runs: dict[int, _Run] = {}  #: by pid
        self.pending = bytearray()
        self.accepting = True
        wake_r, wake_w = os.pipe()
        os.set_blocking(wake_w, False)
        os.set_blocking(wake_r, False)
        self.wake_r = wake_r
        signal.signal(signal.SIGCHLD, lambda *_: None)
        signal.set_wakeup_fd(wake_w)
        self.selector.register(wake_r, selectors.EVENT_READ, "wake")
        self.selector.register(0, selectors.EVENT_READ, "stdin")

    def serve(self) -> int:
        """Run until stdin closes and every run has been reported."""
        while self.accepting or self.runs:
            now = time.monotonic()
            waits = [r.drain_until if r.exit_code is not None else r.deadline for r in self.runs.values()]
            timeout = max(0.0, min(waits) - now) if waits else None
            for key, _ in self.selector.select(timeout):
                if key.data == "stdin":
                    self._read_requests()
                elif key.data == "wake":
                    with contextlib.suppress(BlockingIOError):
                        while os.read(self.wake_r, 512):
                            pass
                else:
                    self._read_run(key.data, key.fd)
            self._reap()
            self._enforce(time.monotonic())
        return 0

    def _read_requests(self) -> None:
        chunk = os.read(0, 1 << 16)
        if not chunk:
            self.accepting = False
            self.selector.unregister(0)
            return
        self.pending += chunk
        while (newline := self.pending.find(b"\n")) >= 0:
            line = bytes(self.pending[:newline])
            del self.pending[:newline + 1]
            if line.strip():
                self._start(json.loads(line))

    def _start(self, message: dict[str, Any]) -> None:
        limits = message["limits"]
        answer_r, answer_w = os.pipe()
        stderr_r, stderr_w = os.pipe()
        started = time.monotonic()
        try:
            pid = os.fork()
        except OSError as exc:  # the session's process cap is spent (a fork bomb in another run)
            for fd in (answer_r, answer_w, stderr_r, stderr_w):
                os.close(fd)
            self._report({"id": message["id"], "exit_code": 1, "timed_out": False, "answer": "", "overflow": False,
                          "stderr": _b64(f"smartworker runner: cannot fork the run: {exc}\n".encode()),
                          "duration_s": 0.0})
            return
        if pid == 0:
            _child(message["id"], message["request"], limits, answer_w, stderr_w)
        os.close(answer_w)
        os.close(stderr_w)
        run = _Run(message["id"], pid, started + float(limits["timeout_s"]), started, answer_r, stderr_r)
        self.runs[pid] = run
        for fd in (answer_r, stderr_r):
            run.open_fds.add(fd)
            self.selector.register(fd, selectors.EVENT_READ, run)

    def _close(self, run: _Run, fd: int) -> None:
        if fd in run.open_fds:
            run.open_fds.discard(fd)
            self.selector.unregister(fd)
            os.close(fd)

    def _read_run(self, run: _Run, fd: int) -> None:
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            self._close(run, fd)
            return
        if fd == run.answer_fd:
            room = CHANNEL_CAP - len(run.answer)
            run.overflow = run.overflow or len(chunk) > room
            run.answer += chunk[:max(0, room)]
        else:
            run.stderr += chunk
            if len(run.stderr) > 2 * TAIL_BYTES:
                del run.stderr[:-TAIL_BYTES]

    def _reap(self) -> None:
        while self.runs:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            run = self.runs.get(pid)
            if run is None:
                continue
            run.exit_code = 128 + os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
            # Whatever the run started in its group goes with it, as the whole namespace does when a
            # cold runner exits.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
            run.drain_until = time.monotonic() + DRAIN_S

    def _enforce(self, now: float) -> None:
        for run in list(self.runs.values()):
            if run.exit_code is None and now >= run.deadline and not run.timed_out:
                run.timed_out = True
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(run.pid, signal.SIGKILL)
                run.deadline = now + DRAIN_S  # the kill's exit is reaped then
            elif run.exit_code is None and now >= run.deadline:
                run.deadline = now + 0.05  # killed, not reaped yet: look again soon, without spinning
            if run.exit_code is not None and (not run.open_fds or now >= run.drain_until):
                self._finish(run)

    def _finish(self, run: _Run) -> None:
        for fd in list(run.open_fds):
            self._close(run, fd)
        del self.runs[run.pid]
        self._report({"id": run.id, "exit_code": run.exit_code, "timed_out": run.timed_out,
                      "answer": _b64(bytes(run.answer)), "overflow": run.overflow,
                      "stderr": _b64(bytes(run.stderr[-TAIL_BYTES:])),
                      "duration_s": time.monotonic() - run.started})

    def _report(self, frame: dict[str, Any]) -> None:
        self.channel.write(json.dumps(frame) + "\n")
        self.channel.flush()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def serve(channel: TextIO) -> int:
    """Entry point of ``python -m smartworker.sandbox.runner --serve``: preload, say ready, serve."""
    import importlib

    for module in PRELOAD:
        with contextlib.suppress(ImportError):
            importlib.import_module(module)
    _not_dumpable()
    import gc

    # Objects that exist now are never collected in a child: the collector does not touch (and so
    # copy) the pages every child shares with this process.
    gc.collect()
    gc.freeze()
    server = ForkServer(channel)
    server._report({"ready": True})
    return server.serve()
