"""GET /metrics: the Prometheus text format, for a scraper.

The counters every process of the system wrote (``smartworker.metrics``) are added up here, and
what Redis and PostgreSQL know is read at scrape time, each source bounded in time: jobs per
state with Node BullMQ's name and labels (``bullmq_job_count{queue,state}``, as its
``Queue.exportPrometheusMetrics`` writes it), BullMQ's own completed/failed totals, live workers,
stored failures. A source that does not answer in time is left out and its ``*_up`` gauge is 0;
the scrape itself still answers 200.

Access: the viewer role, like every read route. A scraper sends an API key as a bearer token
(``authorization: {credentials: <key>}`` in Prometheus' scrape config); an open API (loopback,
no key created) needs none.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from smartworker import metrics
from smartworker.api.security import require
from smartworker.auth import Principal, Role
from smartworker.logs import get_logger
from smartworker.service import Service
from smartworker.worker import live_workers

log = get_logger(__name__)

router = APIRouter()

#: The text format a Prometheus scraper asks for.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
#: BullMQ's job states, as getJobCounts names them.
STATES = ("active", "completed", "delayed", "failed", "paused", "prioritized", "waiting", "waiting-children")
#: Upper bound on reading one source (Redis, PostgreSQL) during a scrape, seconds.
SOURCE_TIMEOUT_S = 2.0


@dataclass
class Snapshot:
    """What Redis and the memory said at scrape time (empty parts: the source did not answer)."""

    redis_up: bool = False
    job_counts: dict[str, dict[str, int]] = field(default_factory=dict)
    bullmq_totals: dict[str, tuple[int, int]] = field(default_factory=dict)
    workers: int | None = None
    memory_up: bool | None = None  #: None: no memory configured
    failures: int | None = None


class SnapshotCollector(Collector):
    """Exposes one Snapshot as metric families."""

    def __init__(self, snapshot: Snapshot, main_queue: str) -> None:
        self.snapshot = snapshot
        self.main_queue = main_queue

    def collect(self) -> Iterator[Metric]:
        """The families of the snapshot."""
        s = self.snapshot
        up = GaugeMetricFamily("smartworker_redis_up", "1 when Redis answered this scrape in time")
        up.add_metric([], 1 if s.redis_up else 0)
        yield up
        counts = GaugeMetricFamily("bullmq_job_count", "Number of jobs in the queue by state",
                                   labels=["queue", "state"])
        for queue, by_state in s.job_counts.items():
            for state, count in by_state.items():
                counts.add_metric([queue, state], count)
        yield counts
        completed = CounterMetricFamily("bullmq_job_completed", "Total number of completed jobs (BullMQ's own count)",
                                        labels=["queue"])
        failed = CounterMetricFamily("bullmq_job_failed", "Total number of failed jobs (BullMQ's own count)",
                                     labels=["queue"])
        for queue, (done, broken) in s.bullmq_totals.items():
            completed.add_metric([queue], done)
            failed.add_metric([queue], broken)
        yield completed
        yield failed
        if s.workers is not None:
            workers = GaugeMetricFamily("smartworker_workers_online", "Workers that sent a heartbeat lately",
                                        labels=["queue"])
            workers.add_metric([self.main_queue], s.workers)
            yield workers
        if s.memory_up is not None:
            memory_up = GaugeMetricFamily("smartworker_memory_up", "1 when the failure memory answered this scrape")
            memory_up.add_metric([], 1 if s.memory_up else 0)
            yield memory_up
        if s.failures is not None:
            stored = GaugeMetricFamily("smartworker_memory_failures", "Distinct failures stored in the memory")
            stored.add_metric([], s.failures)
            yield stored


class _Registered(Collector):
    """Another registry's metrics, collected into the scrape's registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry

    def collect(self) -> Iterator[Metric]:
        """Every family of the other registry."""
        yield from self.registry.collect()


async def snapshot(service: Service) -> Snapshot:
    """Read queue counts, live workers and stored failures, each bounded by SOURCE_TIMEOUT_S."""
    out = Snapshot()
    try:
        await asyncio.wait_for(_redis_part(service, out), SOURCE_TIMEOUT_S)
        out.redis_up = True
    except Exception as exc:  # a scrape during an outage says so in smartworker_redis_up
        log.debug("metrics: Redis did not answer", error=f"{type(exc).__name__}: {exc}")
    if service.memory is not None:
        try:
            total, _ = await asyncio.wait_for(service.memory.list_failures(page=1, size=1), SOURCE_TIMEOUT_S)
            out.memory_up, out.failures = True, total
        except Exception as exc:
            out.memory_up = False
            log.debug("metrics: the memory did not answer", error=f"{type(exc).__name__}: {exc}")
    return out


async def _redis_part(service: Service, out: Snapshot) -> None:
    queues = service.queues
    prefix = service.settings.queue_prefix
    for queue in (queues.main, queues.dlq, queues.reasoning, queues.sandbox):
        counts = await queue.getJobCounts(*STATES)
        out.job_counts[queue.name] = {state: int(counts.get(state) or 0) for state in STATES}
    pipe = queues.redis.pipeline(transaction=False)
    pipe.hget(f"{prefix}:{queues.names.main}:metrics:completed", "count")
    pipe.hget(f"{prefix}:{queues.names.main}:metrics:failed", "count")
    done, broken = await pipe.execute()
    out.bullmq_totals[queues.names.main] = (int(done or 0), int(broken or 0))
    out.workers = await live_workers(queues)


def render(snap: Snapshot, main_queue: str) -> bytes:
    """The exposition text: this system's counters (every process's) and the snapshot."""
    registry = CollectorRegistry()
    own = metrics.own_registry()
    directory = metrics.multiprocess_dir()
    if directory is not None:
        MultiProcessCollector(registry, path=str(directory))  # type: ignore[no-untyped-call]
    if own is not None:  # the in-memory counters of a process that was never set up (tests, scripts)
        registry.register(_Registered(own))
    registry.register(SnapshotCollector(snap, main_queue))
    return generate_latest(registry)


@router.get("/metrics", tags=["operations"], response_class=Response,
            responses={200: {"content": {CONTENT_TYPE: {}}, "description": "Prometheus text format"}})
async def prometheus_metrics(request: Request, _: Annotated[Principal, Depends(require(Role.VIEWER))]) -> Response:
    """Prometheus metrics: queue counts (Node BullMQ's names), jobs, resolutions, LLM, sandbox, memory."""
    service: Service = request.app.state.service
    snap = await snapshot(service)
    return Response(render(snap, service.queues.names.main), media_type=CONTENT_TYPE)
