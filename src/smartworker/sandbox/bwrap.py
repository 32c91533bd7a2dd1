"""The default sandbox: bubblewrap (``bwrap``) namespaces plus rlimits and a process cap.

Inside, the runner sees a read-only root made of ``/usr``, a handful of ``/etc`` files, the Python
installation and the smartworker package, a writable copy of the app tree at ``/app`` and a small
private ``/tmp``. It has no network (its own empty network namespace), no capabilities, its own PID
namespace (killing bwrap kills everything inside) and no view of the host's other files.

Processes are capped with a ``pids`` cgroup when one is writable (RLIMIT_NPROC counts every process of
the user across the host and does not apply to root), and with RLIMIT_NPROC otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import resource
import shutil
import signal
import site
import subprocess
import sys
import tempfile
import time
import uuid
import weakref
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import smartworker
from smartworker.errors import SandboxUnavailableError
from smartworker.sandbox import workspace
from smartworker.sandbox.base import (
    SANDBOX_APP_DIR,
    SandboxBackend,
    SandboxLimits,
    SandboxOutcome,
    SandboxRequest,
)
from smartworker.sandbox.process import ProcessResult, interpret, run_process
from smartworker.sandbox.warm import SparePool, Teardown, WarmSession, in_spawner

if TYPE_CHECKING:
    from smartworker.config import Settings

INSTALL_HINT = "install bubblewrap (Debian/Ubuntu: apt-get install -y bubblewrap)"

#: The only /etc entries the sandbox sees: the loader cache, the time zone and public CA certificates.
ETC_FILES = ("/etc/ld.so.cache", "/etc/localtime", "/etc/ssl/certs")

#: Environment inside the sandbox (everything else is cleared); PYTHONPATH is added per host.
BASE_ENV = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "LANG": "C.UTF-8",
    # The sandbox's own private tmpfs, not the host's /tmp.
    "HOME": "/tmp",  # noqa: S108
    "TMPDIR": "/tmp",  # noqa: S108
    "PYTHONDONTWRITEBYTECODE": "1",
    "PYTHONNOUSERSITE": "1",
    # glibc reserves 64 MB of address space per thread arena, which RLIMIT_AS would otherwise count.
    "MALLOC_ARENA_MAX": "2",
    "SMARTWORKER_SANDBOX": "1",
}

_run_ids = itertools.count(1)

#: The capability that lets us set a process's nice value back down (linux/capability.h).
CAP_SYS_NICE = 23
#: Nice value a spare session warms up at.
SPARE_NICE = 10

#: The least wall-clock time a warm run gets, however long its session took to be ready.
MIN_RUN_S = 0.5

#: A tree whose last copy took less than this is copied on the event loop next time.
INLINE_COPY_S = 0.005

#: CPU seconds a warm session's runner may use for itself (imports, forking) on top of one run's limit.
SESSION_CPU_S = 30


def _covered(path: Path, roots: list[Path]) -> bool:
    return any(path == root or path.is_relative_to(root) for root in roots)


def python_binds() -> list[Path]:
    """Host directories the interpreter needs: its prefix, the virtualenv and site-packages outside them.

    Paths are resolved so a symlinked venv interpreter finds its real prefix at the same place inside.
    """
    binds: list[Path] = [Path("/usr")]
    candidates = [sys.base_prefix, sys.prefix, *site.getsitepackages(), os.path.dirname(sys.executable)]
    for raw in candidates:
        path = Path(raw).resolve()
        if path.exists() and not _covered(path, binds):
            binds.append(path)
    # The unresolved venv path matters too: sys.executable is called by that name.
    venv = Path(sys.prefix)
    if venv.exists() and not _covered(venv, binds):
        binds.append(venv)
    return binds[1:]


def package_dir() -> Path:
    """The directory holding the ``smartworker`` package (``src`` for an editable install)."""
    return Path(smartworker.__file__).resolve().parent.parent


def _system_layout() -> Iterator[str]:
    yield from ("--ro-bind", "/usr", "/usr")
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64"):
        if os.path.islink(top):
            # Merged-/usr systems: keep the links, the targets are under the /usr bind.
            yield from ("--symlink", os.readlink(top), top)
        elif os.path.isdir(top):
            yield from ("--ro-bind", top, top)
    for path in ETC_FILES:
        if os.path.exists(path):
            yield from ("--ro-bind", path, path)


def build_command(bwrap: str, copy: Path, limits: SandboxLimits, *, python: str | None = None,
                  runner_args: Sequence[str] = (), as_pid_1: bool = False) -> list[str]:
    """The full bwrap argument vector that runs the runner on ``copy`` (mounted at ``/app``).

    ``as_pid_1`` makes the runner itself the namespace's init, without bwrap's reaper: nothing else
    inside then holds the protocol channel (the reaper would, and is readable through /proc).
    """
    python = python or sys.executable
    binds = python_binds()
    pkg = package_dir()
    smartworker_dir = pkg / "smartworker"
    env = dict(BASE_ENV, PYTHONPATH=str(pkg))
    argv = [
        bwrap,
        "--unshare-all",  # user, pid, net, ipc, uts, cgroup: no network, no view of host processes
        "--die-with-parent",
        "--new-session",  # no TIOCSTI into our terminal
        *(["--as-pid-1"] if as_pid_1 else []),
        "--cap-drop", "ALL",
        "--hostname", "sandbox",
        *_system_layout(),
        # The private /tmp comes before the interpreter binds: a checkout or virtualenv that lives
        # under the host's /tmp (CI clones there) must stay visible on top of it.
        "--size", str(limits.tmp_mb * 2**20), "--tmpfs", "/tmp",  # noqa: S108 - private
        "--proc", "/proc",
        "--dev", "/dev",
    ]
    for path in binds:
        argv += ["--ro-bind", str(path), str(path)]
    if not _covered(smartworker_dir, [Path("/usr"), *binds]):
        # Only the package, not the rest of its source checkout.
        argv += ["--ro-bind", str(smartworker_dir), str(smartworker_dir)]
    argv += [
        "--bind", str(copy), SANDBOX_APP_DIR,
        # The root bwrap builds is a writable tmpfs; without this a write to /root/x would "succeed".
        "--remount-ro", "/",
        "--chdir", SANDBOX_APP_DIR,
        "--clearenv",
    ]
    for key, value in env.items():
        argv += ["--setenv", key, value]
    argv += ["--", python, "-B", "-s", "-P", "-m", "smartworker.sandbox.runner", *runner_args]
    return argv


class PidsCgroup:
    """A throw-away ``pids`` cgroup capping one run's processes and threads; None-safe to use."""

    def __init__(self, root: Path, max_procs: int) -> None:
        self.path = root / f"smartworker-sandbox-{os.getpid()}-{next(_run_ids)}"
        self.path.mkdir()
        (self.path / "pids.max").write_text(str(max_procs))
        self.procs_file = str(self.path / "cgroup.procs")

    @staticmethod
    def find_root() -> Path | None:
        """A ``pids`` hierarchy we may create cgroups in (cgroup v1, or v2 with pids delegated), or None."""
        v1 = Path("/sys/fs/cgroup/pids")
        if (v1 / "cgroup.procs").exists() and os.access(v1, os.W_OK):
            return v1
        v2 = Path("/sys/fs/cgroup")
        with contextlib.suppress(OSError):
            if "pids" in (v2 / "cgroup.subtree_control").read_text().split() and os.access(v2, os.W_OK):
                return v2
        return None

    def close(self) -> None:
        """Kill anything still in the cgroup and remove it."""
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            try:
                pids = [int(p) for p in (self.path / "cgroup.procs").read_text().split()]
            except OSError:
                return
            if not pids:
                break
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.002)  # killed processes leave the cgroup within milliseconds
        with contextlib.suppress(OSError):
            self.path.rmdir()


def can_renice() -> bool:
    """Whether we may give a process we started at a lower priority the normal one back (CAP_SYS_NICE)."""
    with contextlib.suppress(OSError, ValueError, StopIteration):
        status = Path("/proc/self/status").read_text().splitlines()
        effective = int(next(line for line in status if line.startswith("CapEff:")).split()[1], 16)
        return bool(effective & (1 << CAP_SYS_NICE))
    return False


def limit_setter(limits: SandboxLimits, cgroup_procs: str | None, *, nice: int = 0) -> Callable[[], None]:
    """The ``preexec_fn`` that applies the limits in the child between fork and exec of bwrap.

    ``nice`` starts the process at a lower priority (a spare session warms up without slowing the
    runs in progress; the host gives it the normal priority back when a candidate claims it).
    It only makes system calls (no imports, no locks), which is what is safe between fork and exec.
    """
    memory = limits.memory_mb * 2**20
    fsize = limits.file_mb * 2**20
    nproc = limits.max_procs

    def apply() -> None:
        if cgroup_procs:
            fd = os.open(cgroup_procs, os.O_WRONLY)
            try:
                os.write(fd, b"0")  # "0" moves the writer itself; every descendant follows
            finally:
                os.close(fd)
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        # Soft limit sends SIGXCPU (reported as a limit); the hard one, a second later, SIGKILL.
        resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_s, limits.cpu_s + 1))
        resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        if not cgroup_procs:
            resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
        if nice:
            os.nice(nice)

    return apply


class BwrapSandbox(SandboxBackend):
    """Runs each request under bubblewrap on a temporary copy of the app tree.

    Warm (the default): each candidate's runs go to a sandbox session started ahead, whose runner has
    already imported what runs need and forks a fresh child per run (:mod:`smartworker.sandbox.warm`);
    ``spares`` sessions wait at any time (a verdict takes up to three: the failing data, the other
    runs, the far time zone). Cold (``warm=False``): a new sandbox and runner per run.
    Copies live in a private directory (``tmp_root``), never loose in the host's /tmp.
    """

    name = "bwrap"

    def __init__(self, limits: SandboxLimits | None = None, *, concurrency: int = 2,
                 bwrap: str | None = None, python: str | None = None, warm: bool = True, spares: int = 3,
                 tmp_root: Path | None = None) -> None:
        super().__init__(limits, concurrency=concurrency)
        self._bwrap = bwrap
        self._python = python or sys.executable
        self._checked = False
        self.cgroup_root = PidsCgroup.find_root()
        self.warm = warm
        #: marks this backend's runner command lines, so its processes can be told from anyone else's
        self.tag = uuid.uuid4().hex[:12]
        self._tmp_root = tmp_root
        self._pool: SparePool | None = None
        self._spares = spares
        self._teardown = Teardown()
        self._quick_copy: dict[str, bool] = {}  #: app root -> its last copy took under INLINE_COPY_S

    @classmethod
    def from_settings(cls, settings: Settings) -> BwrapSandbox:
        """The backend with the ``SANDBOX_*`` limits and concurrency."""
        return cls(SandboxLimits.from_settings(settings), concurrency=settings.sandbox_concurrency)

    @property
    def process_cap(self) -> str:
        """How processes are capped here: "cgroup" or "rlimit"."""
        return "cgroup" if self.cgroup_root else "rlimit"

    @property
    def tmp_root(self) -> Path:
        """The private directory every copy of the app tree is made in (created on first use)."""
        if self._tmp_root is None:
            self._tmp_root = Path(tempfile.mkdtemp(prefix="sw-sandboxes-"))
            weakref.finalize(self, shutil.rmtree, self._tmp_root, ignore_errors=True)
        self._tmp_root.mkdir(parents=True, exist_ok=True)
        return self._tmp_root

    def spare_sessions(self) -> list[WarmSession]:
        """The warm sessions waiting for a candidate (none when cold, or before the first run)."""
        return self._pool.sessions() if self._pool else []

    def check(self) -> None:
        """Raise SandboxUnavailableError unless bwrap exists and can build a sandbox on this host."""
        if self._checked:
            return
        found = self._bwrap or shutil.which("bwrap")
        if not found:
            raise SandboxUnavailableError(f"bwrap not found on PATH: {INSTALL_HINT}")
        probe = [found, "--unshare-all", "--die-with-parent", "--cap-drop", "ALL", *_system_layout(),
                 "--proc", "/proc", "--dev", "/dev", "--", "/usr/bin/true"]
        try:
            done = subprocess.run(probe, capture_output=True, text=True, timeout=10, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise SandboxUnavailableError(f"bwrap cannot start ({exc}); {INSTALL_HINT}") from exc
        if done.returncode != 0:
            why = (done.stderr.strip().splitlines() or ["no message"])[-1]
            raise SandboxUnavailableError(
                f"bwrap cannot create a sandbox here ({why}); it needs root or unprivileged user namespaces"
            )
        self._bwrap = found
        self._checked = True

    def _cgroup(self, limits: SandboxLimits) -> PidsCgroup | None:
        if not self.cgroup_root:
            return None
        try:
            return PidsCgroup(self.cgroup_root, limits.max_procs)
        except OSError:
            return None  # fall back to RLIMIT_NPROC for this run

    async def _run(self, request: SandboxRequest, limits: SandboxLimits) -> SandboxOutcome:
        if not self._checked:
            await asyncio.to_thread(self.check)
        if self.warm:
            # run() holds this run's concurrency slot already.
            [outcome] = await self._run_warm([request], limits, hold_slots=False)
            return outcome
        assert self._bwrap  # set by check()
        started = time.perf_counter()
        copy = await asyncio.to_thread(workspace.prepare, request.app_root, request.changed_files,
                                       max_bytes=limits.copy_max_mb * 2**20, parent=self.tmp_root)
        cgroup: PidsCgroup | None = None
        try:
            cgroup = self._cgroup(limits)
            argv = build_command(self._bwrap, copy, limits, python=self._python, runner_args=["--tag", self.tag])
            stdin = json.dumps(request.payload(SANDBOX_APP_DIR)).encode()
            result = await run_process(
                argv, stdin, timeout_s=limits.timeout_s, start_new_session=True,
                env={"PATH": "/usr/bin:/bin"},
                preexec_fn=limit_setter(limits, cgroup.procs_file if cgroup else None),
            )
        finally:
            if cgroup:
                await asyncio.to_thread(cgroup.close)
            await asyncio.to_thread(workspace.remove, copy)
        outcome = interpret(result, limits=limits, inner_root=SANDBOX_APP_DIR, app_root=request.app_root)
        return replace(outcome, duration_s=time.perf_counter() - started)

    async def run_batch(self, requests: Sequence[SandboxRequest]) -> list[SandboxOutcome]:
        """Run the requests; warm, those of one candidate share one session (one fresh process each)."""
        if not self.warm:
            return await super().run_batch(requests)
        if not self._checked:
            await asyncio.to_thread(self.check)
        groups: dict[tuple[object, ...], list[int]] = {}
        for index, request in enumerate(requests):
            groups.setdefault(request.session_key(request.limits or self.limits), []).append(index)
        outcomes: list[SandboxOutcome | None] = [None] * len(requests)

        async def run_group(indexes: list[int]) -> None:
            batch = [requests[i] for i in indexes]
            limits = batch[0].limits or self.limits
            for index, outcome in zip(indexes, await self._run_warm(batch, limits, hold_slots=True), strict=True):
                outcomes[index] = outcome

        await asyncio.gather(*(run_group(indexes) for indexes in groups.values()))
        return [outcome for outcome in outcomes if outcome is not None]

    async def _run_warm(self, requests: list[SandboxRequest], limits: SandboxLimits, *,
                        hold_slots: bool) -> list[SandboxOutcome]:
        """One session for ``requests`` (one candidate): claim, fill, run each in a fresh child, end it.

        With ``hold_slots`` each run takes one of the backend's concurrency slots while it runs.
        """
        started = time.perf_counter()
        first = requests[0]
        session = self._take_warm(limits)
        if session is None:
            session = await in_spawner(lambda: self._claim(limits))
        try:
            await self._fill(session, first)
            # As in a cold run, starting the sandbox counts against the wall-clock limit: a session
            # still warming up (a busy host) leaves each run the rest of it.
            ready = await session.wait_ready(limits.timeout_s)
            left = limits.timeout_s - (time.perf_counter() - started)
            run_limits = replace(limits, timeout_s=max(left, MIN_RUN_S))

            async def one(request: SandboxRequest) -> SandboxOutcome:
                if not ready and not session.dead:
                    result = ProcessResult(exit_code=None, channel=b"", channel_overflow=False, stderr_tail=b"",
                                           timed_out=True, duration_s=time.perf_counter() - started)
                elif hold_slots:
                    async with self._slots:
                        result = await session.run(request.payload(SANDBOX_APP_DIR), run_limits)
                else:
                    result = await session.run(request.payload(SANDBOX_APP_DIR), run_limits)
                outcome = interpret(result, limits=limits, inner_root=SANDBOX_APP_DIR, app_root=request.app_root)
                return replace(outcome, duration_s=time.perf_counter() - started)

            return list(await asyncio.gather(*(one(r) for r in requests)))
        finally:
            # Killed before the outcomes go out; the reaping and clean-up need not delay the verdict.
            self._teardown.end(session)

    async def _fill(self, session: WarmSession, request: SandboxRequest) -> None:
        """Copy the candidate's tree into the session: on the event loop when this tree's last copy was
        quick (a thread hop costs more than copying a small app), else in a thread."""
        key = str(request.app_root)
        if self._quick_copy.get(key):
            started = time.perf_counter()
            session.fill(request.app_root, dict(request.changed_files))
        else:
            started = time.perf_counter()
            await asyncio.to_thread(session.fill, request.app_root, dict(request.changed_files))
        self._quick_copy[key] = time.perf_counter() - started < INLINE_COPY_S

    def _take_warm(self, limits: SandboxLimits) -> WarmSession | None:
        """A warmed spare for ``limits`` without leaving the event loop, if one waits."""
        if limits != self.limits or self._pool is None:
            return None
        return self._pool.take_warm()

    def _claim(self, limits: SandboxLimits) -> WarmSession:
        """A session with ``limits``: a spare when they are the backend's own, else a new one."""
        if limits != self.limits:
            return self._start_session(limits)
        return self._spare_pool().take()

    def _start_session(self, limits: SandboxLimits, *, spare: bool = False) -> WarmSession:
        """A new session; a ``spare`` one warms up at a lower priority until claimed."""
        assert self._bwrap  # set by check()
        copy = workspace.empty_copy(self.tmp_root)
        cgroup = self._cgroup(limits)
        try:
            argv = build_command(self._bwrap, copy, limits, python=self._python,
                                 runner_args=["--serve", "--tag", self.tag], as_pid_1=True)
            # The runner inside lives for the whole session; each run's child gets the run's own CPU
            # limit before any user code.
            server_limits = replace(limits, cpu_s=limits.cpu_s + SESSION_CPU_S)
            preexec = limit_setter(server_limits, cgroup.procs_file if cgroup else None,
                                   nice=SPARE_NICE if spare and can_renice() else 0)
            return WarmSession(argv, copy, limits, cgroup, preexec, None if cgroup else limits.max_procs)
        except BaseException:
            if cgroup:
                cgroup.close()
            workspace.remove(copy)
            raise

    async def warm_up(self) -> None:
        """Start the spare sessions now, so the first candidate finds one warm (a no-op when cold)."""
        if not self.warm or not await asyncio.to_thread(self.is_available):
            return
        await in_spawner(self._pool_refilled)

    def _pool_refilled(self) -> None:
        self._spare_pool().refill()

    def _spare_pool(self) -> SparePool:
        if self._pool is None:
            self._pool = SparePool(lambda: self._start_session(self.limits, spare=True), self._spares)
            weakref.finalize(self, self._pool.close)
        return self._pool

    async def settle(self) -> None:
        """Wait until every session that finished its runs is gone from the host (see :class:`Teardown`)."""
        await self._teardown.settle()

    async def close(self) -> None:
        """Kill the spare sessions (a later run starts new ones) and wait for every teardown."""
        if self._pool is not None:
            await asyncio.to_thread(self._pool.close)
        await self.settle()
