"""Prometheus metrics of the queue, the repair loop and the memory, and the hooks that move them.

Every process of one system (the API, ``worker --processes N``) writes its counters to files in
one directory (prometheus-client's multi-process mode: ``PROMETHEUS_MULTIPROC_DIR``, by default
``<APP_DATA_DIR>/metrics``), and the process serving ``GET /metrics`` adds them up
(``api/metrics.py``). What Redis or PostgreSQL already know (jobs per state, live workers, stored
failures) is read there at scrape time instead of being counted here.

The hooks are decorators and one-line calls, so the modules they observe carry one line each;
the logic, and the spans of ``telemetry``, live here. ``APP_METRICS=false`` turns them into no-ops.
"""

from __future__ import annotations

import contextlib
import glob
import os
import time
from collections.abc import Awaitable, Callable, Coroutine
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, ParamSpec, TypeVar, cast

from bullmq import UnrecoverableError
from opentelemetry.trace import SpanKind
from prometheus_client import CollectorRegistry, Counter, Histogram, values

from smartworker import telemetry

if TYPE_CHECKING:
    from bullmq import Job

    from smartworker.config import Settings

P = ParamSpec("P")
R = TypeVar("R")

#: Job names beyond this many distinct ones per process are counted as "other" (a producer
#: sending ever-new names must not grow the series without bound).
MAX_JOB_NAMES = 200
#: Seconds: jobs are short (a handler call), resolutions and LLM calls long.
JOB_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)
SLOW_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600, 1800)
QUICK_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)
#: Exceptions BullMQ uses for control flow (a job moved back to delayed): not a failure.
_CONTROL_FLOW = ("DelayedError", "WaitingChildrenError", "RateLimitError")


class Instruments:
    """The counters and histograms this process moves (names follow Prometheus conventions)."""

    def __init__(self, registry: CollectorRegistry | None) -> None:
        kw: dict[str, Any] = {"registry": registry}
        job = ("queue", "job_name")
        self.jobs_completed = Counter("smartworker_jobs_completed", "Jobs whose handler completed", job, **kw)
        self.jobs_failed = Counter("smartworker_jobs_failed",
                                   "Jobs that failed for good (no attempts left, or unrecoverable)", job, **kw)
        self.jobs_retried = Counter("smartworker_jobs_retried",
                                    "Failed attempts BullMQ will retry", job, **kw)
        self.jobs_dead = Counter("smartworker_jobs_moved_to_dlq", "Jobs moved to the dead-letter queue", job, **kw)
        self.job_duration = Histogram("smartworker_job_duration_seconds", "Handler run time of one attempt",
                                      (*job, "status"), buckets=JOB_BUCKETS, **kw)
        self.resolutions = Counter("smartworker_resolutions", "Resolutions of dead jobs by outcome",
                                   ("queue", "outcome"), **kw)
        self.candidates = Counter("smartworker_resolution_candidates", "Fix candidates the LLM proposed",
                                  ("queue",), **kw)
        self.time_to_verdict = Histogram("smartworker_resolution_duration_seconds",
                                         "Time from the start of a resolution to its verdict",
                                         ("queue", "outcome"), buckets=SLOW_BUCKETS, **kw)
        self.gate_checks = Counter("smartworker_gate_checks", "Fix candidates a gate looked at", ("gate",), **kw)
        self.gate_rejections = Counter("smartworker_gate_rejections", "Fix candidates a gate rejected",
                                       ("gate",), **kw)
        self.llm_requests = Counter("smartworker_llm_requests", "Chat completions asked of the LLM", ("model",), **kw)
        self.llm_errors = Counter("smartworker_llm_errors", "Chat completions that gave no answer",
                                  ("model", "error"), **kw)
        self.llm_tokens = Counter("smartworker_llm_tokens", "Tokens the LLM read (prompt) and wrote (completion)",
                                  ("model", "kind"), **kw)
        self.llm_duration = Histogram("smartworker_llm_request_duration_seconds", "Time of one chat completion",
                                      ("model",), buckets=SLOW_BUCKETS, **kw)
        self.sandbox_runs = Counter("smartworker_sandbox_runs", "Sandbox runs by outcome",
                                    ("backend", "outcome"), **kw)
        self.sandbox_duration = Histogram("smartworker_sandbox_run_duration_seconds",
                                          "Wall time of one sandbox run", ("backend",), buckets=SLOW_BUCKETS, **kw)
        self.memory_occurrences = Counter("smartworker_memory_occurrences",
                                          "Final failures handed to the memory (each occurrence)", **kw)
        self.memory_search = Histogram("smartworker_memory_search_duration_seconds",
                                       "Time of one similarity search in the failure memory",
                                       buckets=QUICK_BUCKETS, **kw)


class _State:
    enabled = True
    directory: Path | None = None
    instruments: Instruments | None = None
    #: the registry of a single-process run (None in multi-process mode: the files are the registry)
    registry: CollectorRegistry | None = None
    names: ClassVar[set[str]] = set()
    #: (queue, job name, status) -> its counter and duration children
    children: ClassVar[dict[tuple[str, str, str], tuple[Any, Any]]] = {}


_state = _State()


def setup(settings: Settings, data_dir: Path) -> None:
    """Choose this process's metric store; call once at process start, before any job runs.

    The first call decides: the directory's files of processes no longer running are removed
    (their counters restart from zero, which Prometheus' ``rate`` reads as a reset).
    """
    _state.enabled = settings.metrics_enabled
    if not settings.metrics_enabled or _state.instruments is not None:
        return
    directory = settings.metrics_dir or data_dir / "metrics"
    directory.mkdir(parents=True, exist_ok=True)
    _remove_dead(directory)
    # prometheus-client picks its value store from this variable when it is first imported, which
    # may have happened before the settings were read; child processes inherit the choice.
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)
    values.ValueClass = values.get_value_class()  # type: ignore[no-untyped-call]
    _state.directory = directory
    _state.instruments = Instruments(None)


def _remove_dead(directory: Path) -> None:
    for path in glob.glob(str(directory / "*.db")):
        pid = Path(path).stem.rsplit("_", 1)[-1]
        if pid.isdigit() and not _alive(int(pid)):
            with contextlib.suppress(OSError):  # another process cleaned it first
                os.remove(path)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def multiprocess_dir() -> Path | None:
    """The directory of this system's metric files, or None when this process keeps them in memory."""
    return _state.directory


def own_registry() -> CollectorRegistry | None:
    """The registry of a process that was never set up for multi-process mode (tests, scripts)."""
    _instruments()
    return _state.registry


def _instruments() -> Instruments:
    if _state.instruments is None:
        if values.ValueClass is values.MutexValue:
            _state.registry = CollectorRegistry()
            _state.instruments = Instruments(_state.registry)
        else:  # the environment chose multi-process mode before setup ran
            _state.directory = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
            _state.instruments = Instruments(None)
    return _state.instruments


def _name(name: str) -> str:
    if name in _state.names:
        return name
    if len(_state.names) >= MAX_JOB_NAMES:
        return "other"
    _state.names.add(name)
    return name


# -- the queue ------------------------------------------------------------------------------------
def consumed(queue: str, process: Callable[[Job, str], Awaitable[Any]]) -> Callable[[Job, str], Awaitable[Any]]:
    """A BullMQ processor that counts and times each attempt, inside a consumer span continuing the
    job's trace (Node BullMQ's ``process {queue}`` span) while tracing is on."""

    async def counted(job: Job, token: str) -> Any:
        if not _state.enabled:
            return await process(job, token)
        started = time.perf_counter()
        status = "completed"
        try:
            return await process(job, token)
        except Exception as exc:
            status = _failure(job, exc)
            raise
        finally:
            if status:
                _job_done(queue, _name(job.name), status, time.perf_counter() - started)

    async def observed(job: Job, token: str) -> Any:
        if not telemetry.enabled():  # the common case: no span, no attributes built
            return await counted(job, token)
        with telemetry.span(f"process {queue}", kind=SpanKind.CONSUMER, parent=telemetry.context_of(job.opts),
                            attributes={"messaging.system": telemetry.SYSTEM, "messaging.operation.type": "process",
                                        "messaging.operation.name": "process",
                                        "messaging.destination.name": queue, "messaging.message.id": str(job.id),
                                        "bullmq.queue.name": queue, "bullmq.queue.operation": "process",
                                        "bullmq.job.id": str(job.id), "bullmq.job.name": job.name,
                                        "bullmq.job.attempts.made": job.attemptsMade}):
            return await counted(job, token)

    return observed


def _failure(job: Job, exc: Exception) -> str:
    """``failed`` (no attempts left), ``retried``, or "" for BullMQ's control flow (not a failure)."""
    if type(exc).__name__ in _CONTROL_FLOW:
        return ""
    attempts = job.opts.get("attempts") if isinstance(job.opts, dict) else 1
    final = isinstance(exc, UnrecoverableError) or job.attemptsMade + 1 >= _int(attempts, 1)
    return "failed" if final else "retried"


def _job_done(queue: str, name: str, status: str, seconds: float) -> None:
    # The labelled children are cached: looking them up again costs as much as counting.
    key = (queue, name, status)
    pair = _state.children.get(key)
    if pair is None:
        m = _instruments()
        counter = {"completed": m.jobs_completed, "failed": m.jobs_failed, "retried": m.jobs_retried}[status]
        pair = _state.children[key] = (counter.labels(queue, name), m.job_duration.labels(
            queue, name, "completed" if status == "completed" else "failed"))
    pair[0].inc()
    pair[1].observe(seconds)


def moved_to_dlq(queue: str, job_name: str) -> None:
    """Count one job moved to the dead-letter queue."""
    if _state.enabled:
        _instruments().jobs_dead.labels(queue, _name(job_name)).inc()


def _int(value: Any, default: int) -> int:
    try:
        return max(int(value), 1)
    except (TypeError, ValueError):
        return default


# -- the repair loop ------------------------------------------------------------------------------
def observed_resolution(fn: Callable[P, Coroutine[Any, Any, R]]) -> Callable[P, Coroutine[Any, Any, R]]:
    """Decorate ``Resolver.resolve(dlq_id)``: a span in the dead job's trace, and the outcome, the
    candidates and the time to the verdict counted (a resolution that raises is an ``error``)."""

    @wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        resolver: Any = args[0]
        dlq_id = str(args[1] if len(args) > 1 else kwargs.get("dlq_id"))
        parent = None
        dead: Any = None
        if telemetry.enabled():
            dead = await resolver.queues.dead_job(dlq_id)
            parent = telemetry.context_of(dead.opts) if dead is not None else None
        queue = dead.queue if dead is not None else resolver.queues.names.main
        started = time.perf_counter()
        with telemetry.span(f"resolve {queue}.{dead.name if dead is not None else 'job'}", parent=parent,
                            attributes={"smartworker.dlq.id": dlq_id, "bullmq.queue.name": queue,
                                        "bullmq.job.id": dead.job_id if dead is not None else None,
                                        "bullmq.job.name": dead.name if dead is not None else None}) as current:
            outcome = "error"
            record: Any = None
            try:
                result = record = await fn(*args, **kwargs)
                outcome = str(getattr(getattr(record, "status", None), "value", "error"))
                return result
            finally:
                telemetry.set_attributes(current, {"smartworker.resolution.outcome": outcome,
                                                   "smartworker.fix.id": getattr(record, "id", None)})
                if _state.enabled:
                    m = _instruments()
                    queue = str(getattr(record, "queue", "") or queue)
                    m.resolutions.labels(queue, outcome).inc()
                    m.time_to_verdict.labels(queue, outcome).observe(time.perf_counter() - started)
                    tried = len(getattr(record, "candidates", ()) or ())
                    if tried:
                        m.candidates.labels(queue).inc(tried)

    return wrapper


def gate(name: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorate one gate a fix candidate must pass, sync or async: each call is a span, and a
    rejection is counted. A gate rejects by returning a reason (``str``), a verdict whose ``fixed``
    or ``accepted`` is False, or by raising (the exception still propagates)."""

    def decorate(fn: Callable[P, R]) -> Callable[P, R]:
        if _is_coroutine(fn):
            async_fn: Any = fn

            @wraps(fn)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                with telemetry.span(f"gate {name}", attributes={"smartworker.gate": name}) as current:
                    try:
                        result = await async_fn(*args, **kwargs)
                    except Exception:
                        _gate_seen(name, current, "raised")
                        raise
                    _gate_seen(name, current, _rejection(result))
                    return result

            return cast("Callable[P, R]", async_wrapper)

        @wraps(fn)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            with telemetry.span(f"gate {name}", attributes={"smartworker.gate": name}) as current:
                try:
                    result = fn(*args, **kwargs)
                except Exception:
                    _gate_seen(name, current, "raised")
                    raise
                _gate_seen(name, current, _rejection(result))
                return result

        return wrapper

    return decorate


def _is_coroutine(fn: Any) -> bool:
    import inspect

    return inspect.iscoroutinefunction(fn)


def _rejection(result: Any) -> str | None:
    if result is None:
        return None
    if isinstance(result, str):
        return result or None
    for verdict in ("fixed", "accepted"):
        if getattr(result, verdict, None) is False:
            return str(getattr(result, "reason", "") or "rejected")
    return None


def _gate_seen(name: str, current: Any, rejection: str | None) -> None:
    telemetry.set_attributes(current, {"smartworker.gate.passed": rejection is None})
    if rejection is not None:
        telemetry.mark_error(current, rejection)
    if _state.enabled:
        m = _instruments()
        m.gate_checks.labels(name).inc()
        if rejection is not None:
            m.gate_rejections.labels(name).inc()


def observed_completion(fn: Callable[P, Coroutine[Any, Any, R]]) -> Callable[P, Coroutine[Any, Any, R]]:
    """Decorate ``ChatClient.complete``: a client span per call (GenAI semantic conventions), and
    the requests, errors, tokens and time counted by model."""

    @wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        model = str(getattr(args[0], "model", "unknown"))
        started = time.perf_counter()
        with telemetry.span(f"chat {model}", kind=SpanKind.CLIENT, attributes={
                "gen_ai.operation.name": "chat", "gen_ai.request.model": model,
                "gen_ai.request.temperature": kwargs.get("temperature")}) if telemetry.in_trace() \
                else _none() as current:
            try:
                completion: Any = await fn(*args, **kwargs)
            except Exception as exc:
                if _state.enabled:
                    m = _instruments()
                    m.llm_requests.labels(model).inc()
                    m.llm_errors.labels(model, type(exc).__name__).inc()
                raise
            prompt, written = int(completion.prompt_tokens), int(completion.completion_tokens)
            telemetry.set_attributes(current, {"gen_ai.response.model": completion.model,
                                               "gen_ai.usage.input_tokens": prompt,
                                               "gen_ai.usage.output_tokens": written})
            if _state.enabled:
                m = _instruments()
                m.llm_requests.labels(model).inc()
                m.llm_tokens.labels(model, "prompt").inc(prompt)
                m.llm_tokens.labels(model, "completion").inc(written)
                m.llm_duration.labels(model).observe(time.perf_counter() - started)
            result: R = completion
            return result

    return wrapper


def observed_run(fn: Callable[P, Coroutine[Any, Any, R]]) -> Callable[P, Coroutine[Any, Any, R]]:
    """Decorate ``SandboxBackend.run``: a span per run inside a trace, and runs counted by outcome
    where they really run (not by the queue backend that only forwards them)."""

    @wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        backend = str(getattr(args[0], "name", "unknown"))
        request: Any = args[1] if len(args) > 1 else kwargs.get("request")
        started = time.perf_counter()
        with telemetry.span(f"sandbox {backend}", attributes={
                "smartworker.sandbox.backend": backend,
                "smartworker.sandbox.changed": bool(getattr(request, "changed_files", None))}) \
                if telemetry.in_trace() else _none() as current:
            outcome: Any = await fn(*args, **kwargs)
            status = str(getattr(getattr(outcome, "status", None), "value", "unknown"))
            telemetry.set_attributes(current, {"smartworker.sandbox.outcome": status})
            if _state.enabled and backend != "queue":
                m = _instruments()
                m.sandbox_runs.labels(backend, status).inc()
                m.sandbox_duration.labels(backend).observe(time.perf_counter() - started)
            result: R = outcome
            return result

    return wrapper


# -- the memory -----------------------------------------------------------------------------------
def observed_search(fn: Callable[P, Coroutine[Any, Any, R]]) -> Callable[P, Coroutine[Any, Any, R]]:
    """Decorate the memory's similarity search: a span, and its latency observed."""

    @wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        started = time.perf_counter()
        with telemetry.span("memory search") if telemetry.in_trace() else _none():
            result = await fn(*args, **kwargs)
        if _state.enabled:
            _instruments().memory_search.observe(time.perf_counter() - started)
        return result

    return wrapper


def observed_remember(fn: Callable[P, Coroutine[Any, Any, R]]) -> Callable[P, Coroutine[Any, Any, R]]:
    """Decorate the memory's ``remember_failure``: a span, and one occurrence counted."""

    @wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with telemetry.span("memory remember") if telemetry.in_trace() else _none():
            result = await fn(*args, **kwargs)
        if _state.enabled:
            _instruments().memory_occurrences.inc()
        return result

    return wrapper


class _none:  # reads as a value in ``with a if b else _none()``
    """A context manager that yields None (no span)."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, *_: object) -> None:
        return None
