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
import time
from collections.abc import Callable, Iterator
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
from smartworker.sandbox.process import interpret, run_process

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


def build_command(bwrap: str, copy: Path, limits: SandboxLimits, *, python: str | None = None) -> list[str]:
    """The full bwrap argument vector that runs the runner on ``copy`` (mounted at ``/app``)."""
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
    argv += ["--", python, "-B", "-s", "-P", "-m", "smartworker.sandbox.runner"]
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
        for _ in range(50):
            try:
                pids = [int(p) for p in (self.path / "cgroup.procs").read_text().split()]
            except OSError:
                return
            if not pids:
                break
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.02)
        with contextlib.suppress(OSError):
            self.path.rmdir()


def limit_setter(limits: SandboxLimits, cgroup_procs: str | None) -> Callable[[], None]:
    """The ``preexec_fn`` that applies the limits in the child between fork and exec of bwrap.

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

    return apply


class BwrapSandbox(SandboxBackend):
    """Runs each request under bubblewrap on a temporary copy of the app tree."""

    name = "bwrap"

    def __init__(self, limits: SandboxLimits | None = None, *, concurrency: int = 2,
                 bwrap: str | None = None, python: str | None = None) -> None:
        super().__init__(limits, concurrency=concurrency)
        self._bwrap = bwrap
        self._python = python or sys.executable
        self._checked = False
        self.cgroup_root = PidsCgroup.find_root()

    @classmethod
    def from_settings(cls, settings: Settings) -> BwrapSandbox:
        """The backend with the ``SANDBOX_*`` limits and concurrency."""
        return cls(SandboxLimits.from_settings(settings), concurrency=settings.sandbox_concurrency)

    @property
    def process_cap(self) -> str:
        """How processes are capped here: "cgroup" or "rlimit"."""
        return "cgroup" if self.cgroup_root else "rlimit"

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

    async def _run(self, request: SandboxRequest, limits: SandboxLimits) -> SandboxOutcome:
        if not self._checked:
            await asyncio.to_thread(self.check)
        assert self._bwrap  # set by check()
        started = time.perf_counter()
        copy = await asyncio.to_thread(workspace.prepare, request.app_root, request.changed_files,
                                       max_bytes=limits.copy_max_mb * 2**20)
        cgroup: PidsCgroup | None = None
        try:
            if self.cgroup_root:
                try:
                    cgroup = PidsCgroup(self.cgroup_root, limits.max_procs)
                except OSError:
                    cgroup = None  # fall back to RLIMIT_NPROC for this run
            argv = build_command(self._bwrap, copy, limits, python=self._python)
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
