"""OpenTelemetry traces that join Node BullMQ's: off unless OTEL_EXPORTER_OTLP_ENDPOINT is set.

Node BullMQ (with bullmq-otel) keeps a job's trace context in ``job.opts.telemetry.metadata``: the
W3C ``traceparent``/``tracestate`` carrier as a JSON string, stored in Redis under the short
option key ``tm``. We write and read that same key, so a trace a Node producer started continues
in our worker, and one we start continues in a Node worker. Span names and the ``bullmq.*``
attributes follow Node BullMQ (``add {queue}.{name}`` producer, ``process {queue}`` consumer);
the ``messaging.*`` attributes follow OpenTelemetry's messaging semantic conventions.

The tracer provider is this module's own (not the global one), so a process can start and stop
tracing more than once (tests do) and libraries that use the global API are left alone.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine, Iterator, MutableMapping
from contextlib import contextmanager
from functools import wraps
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

    from smartworker.config import Settings

P = ParamSpec("P")
R = TypeVar("R")

#: The option key Node BullMQ stores ``opts.telemetry.metadata`` under in Redis.
METADATA_KEY = "tm"
#: The option key of ``opts.telemetry.omitContext`` (a producer asked not to propagate).
OMIT_KEY = "omc"
#: Job options that carry telemetry (as stored, and as Node BullMQ decodes them).
TELEMETRY_OPTIONS = frozenset({METADATA_KEY, OMIT_KEY, "telemetry"})
#: ``messaging.system`` of our spans (no registered value exists for BullMQ).
SYSTEM = "bullmq"

_provider: TracerProvider | None = None
_tracer: trace.Tracer | None = None


def setup(settings: Settings) -> bool:
    """Start exporting spans when ``settings.otel_endpoint`` is set; True when tracing is on.

    Called once per process at start; a second call while tracing is on changes nothing.
    """
    global _provider, _tracer
    if _tracer is not None or not settings.otel_endpoint:
        return _tracer is not None
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    from smartworker import __version__

    provider = TracerProvider(resource=Resource.create({"service.name": settings.otel_service_name,
                                                        "service.version": __version__}))
    # The endpoint is the collector's base URL, as OTEL_EXPORTER_OTLP_ENDPOINT means it for every signal.
    endpoint = settings.otel_endpoint.rstrip("/") + "/v1/traces"
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint, timeout=5)))
    _provider, _tracer = provider, provider.get_tracer("smartworker", __version__)
    return True


def enabled() -> bool:
    """True when spans are recorded and exported."""
    return _tracer is not None


def flush(timeout_s: float = 5.0) -> None:
    """Send the spans still buffered (before a process exits, or a test reads its receiver)."""
    if _provider is not None:
        _provider.force_flush(int(timeout_s * 1000))


def shutdown() -> None:
    """Flush and stop tracing in this process."""
    global _provider, _tracer
    provider, _provider, _tracer = _provider, None, None
    if provider is not None:
        provider.shutdown()


# -- trace context in job options -----------------------------------------------------------------
def metadata_of(opts: Any) -> str | None:
    """The trace context carrier a job's options hold (Node's encoded ``tm`` or its decoded form)."""
    if not isinstance(opts, dict):
        return None
    value = opts.get(METADATA_KEY)
    if value is None and isinstance(opts.get("telemetry"), dict):
        value = opts["telemetry"].get("metadata")
    return value if isinstance(value, str) else None


def context_of(opts: Any) -> otel_context.Context | None:
    """The OpenTelemetry context a job was produced in, or None (no carrier, or one we cannot read)."""
    metadata = metadata_of(opts)
    if metadata is None:
        return None
    try:
        carrier = json.loads(metadata)
    except ValueError:
        return None
    if not isinstance(carrier, dict):
        return None
    ctx = propagate.extract({str(k): str(v) for k, v in carrier.items()})
    return ctx if trace.get_current_span(ctx).get_span_context().is_valid else None


def with_context(opts: dict[str, Any]) -> dict[str, Any]:
    """``opts`` plus the current trace context under ``tm``, as Node BullMQ's producer writes it."""
    if _tracer is None or opts.get(OMIT_KEY) or (isinstance(opts.get("telemetry"), dict)
                                                 and opts["telemetry"].get("omitContext")):
        return opts
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return {**opts, METADATA_KEY: json.dumps(carrier, separators=(",", ":"))} if carrier else opts


# -- spans ------------------------------------------------------------------------------------------
@contextmanager
def span(name: str, *, kind: SpanKind = SpanKind.INTERNAL, attributes: dict[str, Any] | None = None,
         parent: otel_context.Context | None = None) -> Iterator[trace.Span | None]:
    """A current span named ``name`` (None while tracing is off); an exception marks it as an error."""
    if _tracer is None:
        yield None
        return
    with _tracer.start_as_current_span(name, context=parent, kind=kind, attributes=_plain(attributes),
                                       record_exception=True, set_status_on_exception=True) as current:
        yield current


Coro = Callable[P, Coroutine[Any, Any, R]]


def traced(name: str, **attributes: Any) -> Callable[[Coro[P, R]], Coro[P, R]]:
    """Decorate a coroutine function: each call is a child span of the current one (no root of its own)."""

    def decorate(fn: Coro[P, R]) -> Coro[P, R]:
        @wraps(fn)
        async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            if _tracer is None or not trace.get_current_span().get_span_context().is_valid:
                return await fn(*args, **kwargs)
            with span(name, attributes=attributes):
                return await fn(*args, **kwargs)

        return wrapper

    return decorate


def in_trace() -> bool:
    """True when tracing is on and a span is current (a child span has somewhere to go)."""
    return _tracer is not None and trace.get_current_span().get_span_context().is_valid


def mark_error(current: trace.Span | None, description: str) -> None:
    """Mark a span as failed without an exception (a rejected gate, a failed sandbox run)."""
    if current is not None:
        current.set_status(Status(StatusCode.ERROR, description[:200]))


def set_attributes(current: trace.Span | None, attributes: dict[str, Any]) -> None:
    """Add attributes to a span (no-op while tracing is off)."""
    if current is not None:
        current.set_attributes(_plain(attributes) or {})


def _plain(attributes: dict[str, Any] | None) -> dict[str, Any] | None:
    # OpenTelemetry takes str, bool, int, float (and sequences of one); None values are dropped.
    if not attributes:
        return attributes
    return {k: (v if isinstance(v, str | bool | int | float) else str(v)) for k, v in attributes.items()
            if v is not None}


# -- logs -------------------------------------------------------------------------------------------
def log_ids(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: the current trace and span ids on each line while tracing is on."""
    if _tracer is not None:
        ctx = trace.get_current_span().get_span_context()
        if ctx.is_valid:
            event.setdefault("trace_id", format(ctx.trace_id, "032x"))
            event.setdefault("span_id", format(ctx.span_id, "016x"))
    return event


# -- producing --------------------------------------------------------------------------------------
async def produce(queue: Any, name: str, data: Any, opts: dict[str, Any]) -> Any:
    """``queue.add`` inside a producer span whose context travels in the job's options (Node's ``add``)."""
    if _tracer is None:
        return await queue.add(name, data, opts)
    destination = f"{queue.name}.{name}"
    with span(f"add {destination}", kind=SpanKind.PRODUCER, attributes={
        "messaging.system": SYSTEM, "messaging.operation.type": "send", "messaging.operation.name": "add",
        "messaging.destination.name": queue.name, "bullmq.queue.name": queue.name,
        "bullmq.queue.operation": "add", "bullmq.job.name": name,
    }) as current:
        job = await queue.add(name, data, with_context(opts))
        set_attributes(current, {"bullmq.job.id": str(job.id), "messaging.message.id": str(job.id)})
        return job
