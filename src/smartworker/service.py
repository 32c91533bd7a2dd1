"""Assembles the running system from settings: Redis (configured or embedded), queues, handlers,
workers and the HTTP server, and takes them down again in order on SIGTERM or Ctrl-C.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from smartworker.config import Settings
from smartworker.embedded import EmbeddedRedis, check_redis
from smartworker.errors import ConfigurationError, SmartWorkerError
from smartworker.jobs import HandlerRegistry, load_app
from smartworker.logs import get_logger
from smartworker.queues import Queues
from smartworker.shutdown import Shutdown, in_daemon_thread

if TYPE_CHECKING:
    from smartworker.memory.store import MemoryStore
    from smartworker.reasoning.resolver import Resolver
    from smartworker.sandbox.base import SandboxBackend

log = get_logger(__name__)


@dataclass
class Service:
    """Shared parts of one SmartWorker process."""

    settings: Settings
    queues: Queues
    registry: HandlerRegistry
    embedded_redis: EmbeddedRedis | None = None
    extras: dict[str, Any] = field(default_factory=dict)
    memory: MemoryStore | None = None
    _resolver: Resolver | None = None

    @classmethod
    async def open(cls, settings: Settings, *, embed: bool = True) -> Service:
        """Connect to Redis (starting the embedded one when none is configured) and load handlers."""
        embedded: EmbeddedRedis | None = None
        url = settings.redis_dsn()
        if url is None:
            if not embed:
                raise ConfigurationError("REDIS_URL or APP_REDIS_HOST must be set")
            embedded = EmbeddedRedis(data_path(settings) / "redis")
            url = await asyncio.to_thread(embedded.start)
            log.info("embedded Redis", url=url, data_dir=str(embedded.directory))
        await check_redis(url)
        registry = load_app(settings.app_module, settings.app_root)
        return cls(settings, Queues(settings, url), registry, embedded)

    async def open_memory(self) -> None:
        """Open the failure memory (embedded PostgreSQL when none is configured).

        A configured database that fails stops start-up; the embedded default that cannot start is
        reported and skipped, so the queue still runs on a machine without it.
        """
        from smartworker.memory.store import MemoryStore

        if not (self.settings.database_configured or self.settings.embedded_services):
            return
        try:
            memory = await MemoryStore.open(self.settings)
        except SmartWorkerError as exc:
            if self.settings.database_configured:
                raise
            log.warning("memory disabled: the embedded PostgreSQL did not start", error=exc.message)
            return
        self.memory = memory

        async def probe() -> bool:
            try:
                await memory.connection.execute("SELECT 1")
                return True
            except Exception:
                return False

        self.extras["database_probe"] = probe

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
            from smartworker.sandbox.base import SandboxLimits
            from smartworker.sandbox.queue import QueuedSandbox

            url = self.settings.ai_service_url or self.extras.get("llm_url")
            llm = ChatClient.from_settings(self.settings, url, ready=self.extras.get("llm_ready")) if url else None
            sandbox = sandbox or QueuedSandbox(self.queues, SandboxLimits.from_settings(self.settings))
            self._resolver = Resolver(self.settings, self.queues, llm=llm, sandbox=sandbox,
                                      notifier=EmailNotifier(self.settings), memory=self.memory)
        return self._resolver

    async def close(self, shutdown: Shutdown | None = None) -> None:
        """Close connections; stop the embedded servers this process started.

        Each part is a bounded step of ``shutdown``: one that fails or hangs is logged by name and
        the others still close.
        """
        steps = shutdown or Shutdown()
        starting = self.extras.get("llm_ready")
        if starting is not None:
            starting.cancel()  # a model still being assembled is not started after shutdown began
        if self._resolver is not None and self._resolver.llm is not None:
            await steps.step("llm client", self._resolver.llm.close())
        if self.memory is not None:
            await steps.step("memory", self.memory.close())
        server = self.extras.get("llm_server")
        if server is not None:
            await steps.step("local model server", in_daemon_thread(server.stop))
        await steps.step("queues", self.queues.close())
        if self.embedded_redis is not None:
            await steps.step("embedded redis", in_daemon_thread(self.embedded_redis.stop))


def data_path(settings: Settings) -> Path:
    """The data directory, created and absolute."""
    path = settings.data_dir.expanduser().resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextlib.contextmanager
def stop_on_signals(stop: asyncio.Event) -> Iterator[None]:
    """Set ``stop`` on SIGTERM / SIGINT; a second signal is left to the default handler."""
    loop = asyncio.get_running_loop()
    handled = (signal.SIGTERM, signal.SIGINT)

    def fire(sig: signal.Signals) -> None:
        log.info("shutting down", signal=sig.name)
        stop.set()
        loop.remove_signal_handler(sig)

    for sig in handled:
        loop.add_signal_handler(sig, fire, sig)
    try:
        yield
    finally:
        for sig in handled:
            loop.remove_signal_handler(sig)


async def run(settings: Settings, *, api: bool, worker: bool) -> None:
    """Run the API and/or the workers until SIGTERM or Ctrl-C, then shut down gracefully."""
    from smartworker.reasoning.consumer import ReasoningWorker
    from smartworker.sandbox.base import create_sandbox
    from smartworker.sandbox.queue import SandboxWorker
    from smartworker.worker import JobWorker

    service = await Service.open(settings)
    stop = asyncio.Event()
    workers: list[Any] = []
    server_task: asyncio.Task[None] | None = None
    server: Any = None
    try:
        with stop_on_signals(stop):
            await service.open_memory()
            if worker:
                await start_local_llm(service)
                job_worker = JobWorker(settings, service.queues, service.registry)
                sandbox_worker = SandboxWorker(settings, service.queues, create_sandbox(settings))
                reasoning_worker = ReasoningWorker(settings, service.queues, service.resolver())
                # Closed in this order too: no new jobs, then the resolution in flight, then its sandbox runs.
                for part in (job_worker, reasoning_worker, sandbox_worker):
                    await part.start()
                    workers.append(part)
            if api:
                from smartworker.auth import bind_access

                log.info("access", detail=(await bind_access(settings, service.queues.redis)).summary)
                server = _http_server(service)
                server_task = asyncio.create_task(server.serve(), name="http")
            await stop.wait()
    finally:
        # Order matters: stop accepting HTTP first, then drain workers, then close connections.
        shutdown = Shutdown()
        if server is not None and server_task is not None:
            server.should_exit = True
            await shutdown.step("http", server_task)
        for w in workers:
            # Unbounded: a worker drains the jobs it holds by its own rules (see shutdown.py).
            await shutdown.step(type(w).__name__, w.close(), timeout=None)
        await service.close(shutdown)
        log.info("stopped", seconds=shutdown.seconds, failed=shutdown.failed)


async def start_local_llm(service: Service) -> None:
    """Serve the bundled local model when no AI_SERVICE_URL is set and its parts are installed.

    Assembling the model (the first run joins 1.1 GB of parts and checks its hash), starting the
    server and waiting for it to load all happen in the background; the LLM client waits for them
    before its first call, so the API and the job worker are not held up. Before this, the API
    answered only after the assembly: `up` on a machine with the model installed took over 30 s to
    answer /health.
    """
    settings = service.settings
    if settings.ai_service_url or not settings.ai_local_llm:
        return
    import importlib.util

    if importlib.util.find_spec("xllamacpp") is None:
        log.info("no LLM configured and no local model installed: pip install 'smartworker[local-llm]'")
        return
    from smartworker.reasoning import local_model

    host = "127.0.0.1"

    async def bring_up() -> float:
        path = await asyncio.to_thread(local_model.pull, data_path(settings))
        server = local_model.start(path, host=host, port=settings.ai_local_llm_port, alias=settings.ai_model_name,
                                   log_path=data_path(settings) / "llm.log")
        service.extras["llm_server"] = server
        log.info("local model starting", url=server.url, model=str(path))
        return await asyncio.to_thread(server.wait_ready, 600.0)

    def report(task: asyncio.Task[float]) -> None:
        if task.cancelled():
            return
        error = task.exception()
        if error is None:
            log.info("local model ready", seconds=round(task.result(), 1))
        elif isinstance(error, ConfigurationError):  # the pull's: a missing part, a wrong hash
            log.warning("local model unavailable", error=error.message)
        else:  # the server's: it exited, or did not load in time
            log.error("local model failed", error=str(error))

    ready = asyncio.create_task(bring_up(), name="local-llm")
    ready.add_done_callback(report)
    service.extras.update(llm_url=local_model.server_url(host, settings.ai_local_llm_port), llm_ready=ready)


def _http_server(service: Service) -> Any:
    import uvicorn

    from smartworker.api.app import create_app

    class _Server(uvicorn.Server):
        # Our own handler owns SIGTERM/SIGINT so the whole process shuts down in one order.
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

    config = uvicorn.Config(create_app(service), host=service.settings.host, port=service.settings.port,
                            log_config=None, access_log=False, lifespan="on")
    return _Server(config)
