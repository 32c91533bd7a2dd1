"""Handlers, the job model and statuses.

A handler is a plain function (sync or async) that takes the job's ``data`` dict and returns a
JSON-serialisable result. Users register handlers by job name in their own module::

    from smartworker import handler

    @handler("send-invoice")
    def send_invoice(data: dict) -> dict: ...

The worker imports that module (``SMARTWORKER_APP``) from ``APP_ROOT_DIR``; the sandbox imports the
same module from a copy of that tree, so a handler must not depend on anything outside it but
installed packages.
"""

from __future__ import annotations

import contextlib
import contextvars
import importlib
import inspect
import sys
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from smartworker.errors import HandlerLoadError, UnknownHandlerError

HandlerFn = Callable[[dict[str, Any]], Any | Awaitable[Any]]


class JobStatus(StrEnum):
    """Where a job is, in BullMQ's words plus our dead-letter state."""

    WAITING = "waiting"  #: queued, not started
    DELAYED = "delayed"  #: waiting out a backoff or a delay
    PRIORITIZED = "prioritized"  #: queued with a priority
    ACTIVE = "active"  #: a worker holds its lock
    COMPLETED = "completed"  #: the handler returned
    FAILED = "failed"  #: out of attempts, not yet moved to the DLQ
    DEAD = "dead"  #: in the dead-letter queue
    UNKNOWN = "unknown"  #: BullMQ does not know the id


#: States a job does not leave on its own.
TERMINAL_STATUSES = frozenset({JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.DEAD})


@dataclass(frozen=True)
class JobInfo:
    """What a running handler may learn about its job (through ``current_job()``)."""

    id: str
    name: str
    queue: str
    attempt: int  #: 1 for the first try


_current: contextvars.ContextVar[JobInfo | None] = contextvars.ContextVar("smartworker_job", default=None)


def current_job() -> JobInfo | None:
    """The job the calling handler runs for, or None outside a worker."""
    return _current.get()


def set_current_job(info: JobInfo | None) -> contextvars.Token[JobInfo | None]:
    """Bind the job for the handler call that follows (worker and sandbox use this)."""
    return _current.set(info)


@contextlib.contextmanager
def bound_job(info: JobInfo) -> Iterator[None]:
    """Bind ``info`` as the current job for the duration of a ``with`` block."""
    token = _current.set(info)
    try:
        yield
    finally:
        _current.reset(token)


@dataclass(frozen=True)
class Handler:
    """A registered handler."""

    name: str
    fn: HandlerFn
    hazard: bool = False  #: planted failure scenarios, only on with HAZARD_TESTING

    async def __call__(self, data: dict[str, Any]) -> Any:
        """Run the handler; sync handlers run in a thread so they cannot stall the event loop."""
        if inspect.iscoroutinefunction(self.fn):
            return await self.fn(data)
        import asyncio

        result = await asyncio.to_thread(self.fn, data)
        if inspect.isawaitable(result):
            return await result
        return result

    @property
    def source_file(self) -> Path | None:
        """File that defines the handler (the AI layer reads it)."""
        try:
            return Path(inspect.getfile(self.fn)).resolve()
        except (TypeError, OSError):
            return None


@dataclass
class HandlerRegistry:
    """Handlers by job name."""

    _handlers: dict[str, Handler] = field(default_factory=dict)

    def register(self, name: str, fn: HandlerFn, *, hazard: bool = False) -> HandlerFn:
        """Register ``fn`` under ``name``; a second registration of the name replaces the first."""
        if not name or not isinstance(name, str):
            raise ValueError("a handler needs a non-empty name")
        self._handlers[name] = Handler(name, fn, hazard)
        return fn

    def handler(self, name: str, *, hazard: bool = False) -> Callable[[HandlerFn], HandlerFn]:
        """Decorator form of ``register``."""

        def wrap(fn: HandlerFn) -> HandlerFn:
            return self.register(name, fn, hazard=hazard)

        return wrap

    def get(self, name: str, *, hazard_testing: bool) -> Handler:
        """The handler for ``name``; hazard handlers exist only when hazard testing is on."""
        found = self._handlers.get(name)
        if found is None or (found.hazard and not hazard_testing):
            known = ", ".join(sorted(self.names(hazard_testing=hazard_testing))) or "none"
            raise UnknownHandlerError(f"unknown handler {name!r} (registered: {known})")
        return found

    def names(self, *, hazard_testing: bool) -> list[str]:
        """Names a job may use."""
        return [h.name for h in self._handlers.values() if hazard_testing or not h.hazard]

    def __iter__(self) -> Iterator[Handler]:
        return iter(self._handlers.values())

    def clear(self) -> None:
        """Forget every handler (tests)."""
        self._handlers.clear()


#: The registry user modules register into.
registry = HandlerRegistry()
handler = registry.handler


def load_app(module: str, root: Path) -> HandlerRegistry:
    """Import the user's application module from ``root`` so its handlers register.

    ``root`` goes first on ``sys.path``: the sandbox does the same with its copy of the tree, so the
    module a worker runs and the module a fix is tested against resolve the same way.
    """
    root_s = str(root)
    if root_s not in sys.path:
        sys.path.insert(0, root_s)
    try:
        importlib.import_module(module)
    except Exception as exc:  # any import-time error in user code
        raise HandlerLoadError(f"cannot import SMARTWORKER_APP={module!r} from {root}: {exc}") from exc
    return registry
