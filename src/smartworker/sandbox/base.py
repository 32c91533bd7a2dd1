"""The sandbox interface: one request in, one outcome out, whatever the backend.

A backend (``bwrap``, ``docker``) copies the application tree, writes the candidate's changed files into
the copy, runs ``python -m smartworker.sandbox.runner`` inside its isolation with the job on stdin, and
turns what comes back into a :class:`SandboxOutcome`. Backends are imported only when configured, so
this module stays free of anything a backend needs (and of pydantic: the runner imports this package).
"""

from __future__ import annotations

import abc
import asyncio
import importlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from smartworker.metrics import observed_run

if TYPE_CHECKING:
    from smartworker.config import Settings

#: Where the copy of the application tree appears inside every backend; tracebacks are mapped back.
SANDBOX_APP_DIR = "/app"

#: Backend name (``SANDBOX_BACKEND``) -> module and class, imported only when chosen.
BACKENDS: dict[str, tuple[str, str]] = {
    "bwrap": ("smartworker.sandbox.bwrap", "BwrapSandbox"),
    "docker": ("smartworker.sandbox.docker", "DockerSandbox"),
}


class SandboxStatus(StrEnum):
    """How a sandbox run ended."""

    OK = "ok"  #: the handler returned a JSON-serialisable result
    ERROR = "error"  #: the handler (or the import of the app, or the result's encoding) raised
    TIMEOUT = "timeout"  #: the wall-clock limit passed and the whole tree was killed
    LIMIT = "limit"  #: a resource limit ended the process (CPU time, file size)
    KILLED = "killed"  #: a signal we did not send ended the process
    CRASH = "crash"  #: the process exited without a valid answer on the protocol channel


#: Statuses that mean the run did not complete inside its limits.
ABNORMAL_STATUSES = frozenset({SandboxStatus.TIMEOUT, SandboxStatus.LIMIT, SandboxStatus.KILLED,
                               SandboxStatus.CRASH})


@dataclass(frozen=True)
class SandboxLimits:
    """Resource limits for one run (defaults mirror the ``SANDBOX_*`` settings)."""

    timeout_s: float = 10.0  #: wall clock, start to answer
    memory_mb: int = 512  #: address space (RLIMIT_AS) or container memory
    cpu_s: int = 10  #: CPU seconds (RLIMIT_CPU)
    max_procs: int = 64  #: processes and threads
    file_mb: int = 16  #: largest file the run may write (RLIMIT_FSIZE)
    tmp_mb: int = 64  #: size of the private /tmp
    copy_max_mb: int = 64  #: largest application tree we agree to copy

    @classmethod
    def from_settings(cls, settings: Settings) -> SandboxLimits:
        """Limits as configured by ``SANDBOX_TIMEOUT``, ``SANDBOX_MEMORY_MB`` and friends."""
        return cls(
            timeout_s=settings.sandbox_timeout_s,
            memory_mb=settings.sandbox_memory_mb,
            cpu_s=settings.sandbox_cpu_s,
            max_procs=settings.sandbox_max_procs,
            file_mb=settings.sandbox_file_mb,
        )


@dataclass(frozen=True)
class SandboxRequest:
    """One job to run against a (possibly changed) copy of the application tree."""

    app_root: Path  #: the original APP_ROOT_DIR; never modified
    app_module: str  #: SMARTWORKER_APP
    handler: str  #: job name the handler is registered under
    data: dict[str, Any] = field(default_factory=dict)  #: the job's data
    changed_files: Mapping[str, str] = field(default_factory=dict)  #: app-root-relative path -> content
    job_id: str = "sandbox"
    job_name: str | None = None  #: defaults to ``handler``
    queue: str = "sandbox"
    attempt: int = 1
    hazard_testing: bool = False
    env: Mapping[str, str] = field(default_factory=dict)  #: extra environment for the handler
    limits: SandboxLimits | None = None  #: None: the backend's configured limits

    def session_key(self, limits: SandboxLimits) -> tuple[Any, ...]:
        """What runs sharing one sandbox session must have in common: the same copy, the same limits,
        the same environment. Runs in one session share an interpreter's hash seed, so the same data
        in another environment (the verdict's far time zone) gets its own session: a result whose
        order comes from string hashing then differs between the two, as it would between two hosts."""
        return (str(self.app_root), tuple(sorted(self.changed_files.items())), limits,
                tuple(sorted(self.env.items())))

    def with_data(self, data: dict[str, Any]) -> SandboxRequest:
        """The same request with other job data (verdicts replay several inputs)."""
        return replace(self, data=data)

    def payload(self, app_dir: str) -> dict[str, Any]:
        """The JSON object the runner reads on stdin, for a copy mounted at ``app_dir``."""
        return {
            "app_root": app_dir,
            "app_module": self.app_module,
            "handler": self.handler,
            "data": self.data,
            "job": {"id": self.job_id, "name": self.job_name or self.handler, "queue": self.queue,
                    "attempt": self.attempt},
            "hazard_testing": self.hazard_testing,
            # The environment travels on stdin, not on the command line, so it never shows in `ps`.
            "env": dict(self.env),
        }


@dataclass(frozen=True)
class SandboxOutcome:
    """What one sandbox run did."""

    status: SandboxStatus
    reason: str  #: one line a person can read
    result: Any = None  #: the handler's return value (status ok)
    exc_type: str | None = None  #: e.g. "AttributeError" (status error)
    message: str | None = None  #: str(exception)
    traceback: str | None = None  #: formatted traceback, paths mapped back to the original app root
    phase: str | None = None  #: where an error happened: "load", "handler" or "result"
    exit_code: int | None = None
    stdout_tail: str = ""  #: tail of the protocol channel (the runner's answer)
    stderr_tail: str = ""  #: tail of stderr, which also carries everything the handler printed
    duration_s: float = 0.0  #: wall clock, including the copy and the sandbox start
    #: status error in the handler: repr of the data each name on the failing line held (unredacted)
    values: Mapping[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when the handler completed without an exception inside its limits."""
        return self.status is SandboxStatus.OK


class SandboxBackend(abc.ABC):
    """Runs one :class:`SandboxRequest` in isolation; at most ``concurrency`` runs at once."""

    #: The ``SANDBOX_BACKEND`` value that selects this backend.
    name: ClassVar[str]

    def __init__(self, limits: SandboxLimits | None = None, *, concurrency: int = 2) -> None:
        self.limits = limits or SandboxLimits()
        self._slots = asyncio.Semaphore(concurrency)

    @observed_run
    async def run(self, request: SandboxRequest) -> SandboxOutcome:
        """Run the request's handler on its data against the changed copy; never raises for user code.

        Raises SandboxUnavailableError when the backend cannot run at all, SandboxError when the
        request itself is refused (a changed file outside the tree, a tree too large to copy).
        """
        async with self._slots:
            return await self._run(request, request.limits or self.limits)

    async def run_batch(self, requests: Sequence[SandboxRequest]) -> list[SandboxOutcome]:
        """Run several requests (one candidate's replays and variants, say); outcomes in request order.

        Each request is still its own run with its own limits; a backend that can, runs the requests
        that share a candidate (app root, changed files, limits) in one sandbox session.
        """
        return list(await asyncio.gather(*(self.run(request) for request in requests)))

    async def warm_up(self) -> None:  # noqa: B027 - most backends have nothing to start ahead
        """Start ahead whatever makes the first run fast (warm sessions); never raises."""

    async def close(self) -> None:  # noqa: B027 - most backends hold nothing between runs
        """Release what the backend holds between runs (warm sessions); it may still run afterwards."""

    @abc.abstractmethod
    async def _run(self, request: SandboxRequest, limits: SandboxLimits) -> SandboxOutcome:
        """Backend-specific run, called with a concurrency slot held."""

    @abc.abstractmethod
    def check(self) -> None:
        """Raise SandboxUnavailableError, with what to install, when this backend cannot run here."""

    def is_available(self) -> bool:
        """True when :meth:`check` passes."""
        from smartworker.errors import SandboxUnavailableError

        try:
            self.check()
        except SandboxUnavailableError:
            return False
        return True


class UnavailableSandbox(SandboxBackend):
    """Stands in for a backend that cannot run on this host: every check and run says why."""

    name = "unavailable"

    def __init__(self, reason: str) -> None:
        super().__init__()
        self.reason = reason  #: what is missing and how to install it, in one line

    def check(self) -> None:
        """Always raises SandboxUnavailableError with the reason."""
        from smartworker.errors import SandboxUnavailableError

        raise SandboxUnavailableError(self.reason)

    async def _run(self, request: SandboxRequest, limits: SandboxLimits) -> SandboxOutcome:
        self.check()
        raise AssertionError("unreachable")  # pragma: no cover


def create_sandbox(settings: Settings, *, check: bool = True) -> SandboxBackend:
    """The backend ``SANDBOX_BACKEND`` names, with the configured limits; checked unless told not to."""
    from smartworker.errors import ConfigurationError

    try:
        module_name, class_name = BACKENDS[settings.sandbox_backend]
    except KeyError:
        raise ConfigurationError(f"SANDBOX_BACKEND: unknown backend {settings.sandbox_backend!r}") from None
    cls = getattr(importlib.import_module(module_name), class_name)
    backend: SandboxBackend = cls.from_settings(settings)
    if check:
        backend.check()
    return backend
