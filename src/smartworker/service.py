"""Assembles the parts of one SmartWorker process from settings: Redis (configured or embedded),
queues, handlers, the failure memory, the LLM client and the resolver, and closes them again.

Running the process (signals, the HTTP server, the local model, the order of shutdown) is
``runner.py``'s job; this module starts nothing that outlives a call.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from smartworker.config import Settings
from smartworker.embedded import EmbeddedRedis, check_redis
from smartworker.errors import ConfigurationError, SmartWorkerError
from smartworker.jobs import HandlerRegistry, load_app
from smartworker.logs import get_logger
from smartworker.queues import Queues
from smartworker.shutdown import Shutdown, in_daemon_thread

if TYPE_CHECKING:
    from smartworker.memory.database import EmbeddedPostgres
    from smartworker.memory.interface import FailureMemory
    from smartworker.reasoning.resolver import Resolver
    from smartworker.sandbox.base import SandboxBackend

log = get_logger(__name__)


@dataclass
class LLMEndpoint:
    """The LLM the resolver asks: a URL, and (for a local model still loading) a task that ends when it is ready."""

    url: str
    #: resolves once a local model server answers; None for a remote server
    ready: asyncio.Task[float] | None = None


@dataclass
class Service:
    """Shared parts of one SmartWorker process."""

    settings: Settings
    queues: Queues
    registry: HandlerRegistry
    embedded_redis: EmbeddedRedis | None = None
    memory: FailureMemory | None = None
    #: the memory's database server when this process started or adopted an embedded one
    embedded_postgres: EmbeddedPostgres | None = None
    #: DSN of the memory's database (no password is ever in the embedded one's)
    database_url: str | None = None
    #: the LLM fixes are asked from; None when none is configured or installed
    llm: LLMEndpoint | None = None
    #: why fixes cannot be verified here (the sandbox backend's one-line install hint), or None
    sandbox_unavailable: str | None = None
    _resolver: Resolver | None = None

    @classmethod
    async def open(cls, settings: Settings, *, embed: bool = True, redis_url: str | None = None) -> Service:
        """Connect to Redis and load handlers.

        Redis is ``redis_url`` when given (a running ``up``'s, from its run state), else the
        configured one, else an embedded one under the data dir (unless ``embed`` is false).
        """
        embedded: EmbeddedRedis | None = None
        url = redis_url or settings.redis_dsn()
        if url is None:
            if not embed:
                raise ConfigurationError("REDIS_URL or APP_REDIS_HOST must be set")
            embedded = EmbeddedRedis(data_path(settings) / "redis")
            url = await asyncio.to_thread(embedded.start)
            log.debug("embedded Redis", url=url, how=embedded.how, pid=embedded.pid)
        await check_redis(url)
        registry = load_app(settings.app_module, settings.app_root)
        return cls(settings, Queues(settings, url), registry, embedded)

    async def open_memory(self) -> None:
        """Open the failure memory (embedded PostgreSQL when none is configured).

        A configured database that fails stops start-up; the embedded default that cannot start is
        reported and skipped, so the queue still runs on a machine without it.
        """
        from smartworker.memory.database import resolve_database
        from smartworker.memory.store import MemoryStore

        if not (self.settings.database_configured or self.settings.embedded_services):
            return
        embedded: EmbeddedPostgres | None = None
        try:
            dsn, embedded = await asyncio.to_thread(resolve_database, self.settings)
            self.memory = await MemoryStore.open(self.settings, dsn=dsn)
        except SmartWorkerError as exc:
            if embedded is not None:
                await in_daemon_thread(embedded.stop)
            if self.settings.database_configured:
                raise
            log.warning("memory disabled: the embedded PostgreSQL did not start", error=exc.message)
            return
        self.embedded_postgres = embedded
        self.database_url = dsn if embedded is not None else None

    async def database_state(self) -> str:
        """``up``, ``down`` or ``not configured``: the failure memory's database, for /health."""
        if self.memory is None:
            return "not configured"
        return "up" if await self.memory.ping() else "down"

    def resolver(self, sandbox: SandboxBackend | None = None) -> Resolver:
        """The repair loop over this service's queues, LLM, sandbox (the sandbox queue unless one is
        given), email and memory. Built once: a different sandbox asked for later is an error, not
        silently ignored."""
        if self._resolver is not None and sandbox is not None and self._resolver.sandbox is not sandbox:
            raise ConfigurationError("the resolver of this service already runs on another sandbox backend")
        if self._resolver is None:
            from smartworker.notify.email import EmailNotifier
            from smartworker.reasoning.llm import ChatClient
            from smartworker.reasoning.resolver import Resolver
            from smartworker.sandbox.base import SandboxLimits, UnavailableSandbox
            from smartworker.sandbox.queue import QueuedSandbox

            endpoint = self.llm or (LLMEndpoint(self.settings.ai_service_url) if self.settings.ai_service_url else None)
            llm = ChatClient.from_settings(self.settings, endpoint.url, ready=endpoint.ready) if endpoint else None
            if sandbox is None:
                limits = SandboxLimits.from_settings(self.settings)
                sandbox = (UnavailableSandbox(self.sandbox_unavailable) if self.sandbox_unavailable
                           else QueuedSandbox(self.queues, limits))
            self._resolver = Resolver(self.settings, self.queues, llm=llm, sandbox=sandbox,
                                      notifier=EmailNotifier(self.settings), memory=self.memory)
        return self._resolver

    async def close(self, shutdown: Shutdown | None = None) -> None:
        """Close connections, then stop the embedded servers this process started or adopted.

        Each part is a bounded step of ``shutdown``: one that fails or hangs is logged by name and
        the others still close.
        """
        steps = shutdown or Shutdown()
        if self._resolver is not None and self._resolver.llm is not None:
            await steps.step("llm client", self._resolver.llm.close())
        if self.memory is not None:
            await steps.step("memory", self.memory.close())
        await steps.step("queues", self.queues.close())
        if self.embedded_postgres is not None:
            # Stops the server when this process is the last one that uses it.
            await steps.step("embedded postgres", in_daemon_thread(self.embedded_postgres.stop))
        if self.embedded_redis is not None:
            redis = self.embedded_redis

            async def stop_redis() -> None:
                done = await in_daemon_thread(redis.stop)
                log.debug("embedded Redis", result=done)

            await steps.step("embedded redis", stop_redis())


def data_path(settings: Settings) -> Path:
    """The data directory, created, absolute and writable; a ConfigurationError in one line otherwise."""
    path = settings.data_dir.expanduser().resolve()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigurationError(f"APP_DATA_DIR: cannot create {path}: {exc.strerror or exc}") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise ConfigurationError(f"APP_DATA_DIR: {path} is not writable")
    return path
