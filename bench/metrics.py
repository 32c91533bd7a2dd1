"""Throughput with metrics on vs off: N no-op jobs through SmartWorker's worker, alternating rounds.

Metrics on is what ``up`` runs: prometheus-client's multi-process files (a temporary directory
here), every attempt counted and timed. Off is ``APP_METRICS=false``: the hooks do nothing. Both
run on the same Redis in the same process, alternating, so machine noise hits both alike. Prints
jobs/s for each and the ratio (target: on >= 0.95 x off). Tracing stays off in both.

    PYTHONPATH=src python bench/metrics.py [--jobs 3000] [--rounds 5] [--concurrency 1]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from bullmq import Queue

from smartworker import metrics
from smartworker.config import load_settings
from smartworker.jobs import registry
from smartworker.logs import configure
from smartworker.queues import Queues
from smartworker.worker import JobWorker


@registry.handler("noop")
async def noop(data: dict[str, Any]) -> None:
    return None


async def fill(url: str, queue: str, n: int) -> None:
    q = Queue(queue, {"connection": url})
    for start in range(0, n, 1000):
        await q.addBulk([{"name": "noop", "data": {"i": i}, "opts": {"removeOnComplete": True}}
                         for i in range(start, min(n, start + 1000))])
    await q.close()


async def drained(q: Queue, n: int) -> None:
    while await q.getCompletedCount() + await q.getFailedCount() < n and await q.getJobCountByTypes(
            "waiting", "active", "delayed", "prioritized") > 0:
        await asyncio.sleep(0.01)


async def run(url: str, n: int, concurrency: int, *, on: bool, data_dir: Path) -> tuple[float, float]:
    """jobs/s (wall clock) and this process's CPU milliseconds per job (less moved by other load)."""
    name = f"bench-metrics-{uuid.uuid4().hex[:6]}"
    settings = load_settings(redis_url=url, queue_name=name, worker_concurrency=concurrency, metrics_enabled=on,
                             data_dir=data_dir)
    metrics.setup(settings, data_dir)  # what the runner does at start; here it switches the hooks on or off
    await fill(url, name, n)
    queues = Queues(settings, url)
    started, cpu = time.perf_counter(), time.process_time()
    worker = JobWorker(settings, queues, registry)
    await worker.start()
    await drained(queues.main, n)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    await worker.close()
    await queues.main.obliterate(force=True)
    await queues.close()
    return n / elapsed, cpu * 1000 / n


async def hook_cost(calls: int = 20000) -> tuple[float, float]:
    """Microseconds one processed job spends in the consumer hook with metrics off and on (no Redis:
    the hook around a no-op processor, so other load on the machine hardly moves it)."""
    job: Any = SimpleNamespace(id="1", name="noop", opts={"attempts": 3}, attemptsMade=0)

    async def process(job: Any, token: str) -> None:
        return None

    observed = metrics.consumed("bench", process)
    out = []
    for flag in (False, True):
        metrics._state.enabled = flag  # the switch setup() sets from APP_METRICS
        started = time.process_time()
        for _ in range(calls):
            await observed(job, "token")
        out.append((time.process_time() - started) * 1e6 / calls)
    return out[0], out[1]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--redis", default=os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0"))
    args = parser.parse_args()
    # Logs as in production (JSON, info) but thrown away, so their cost is measured, not their I/O.
    sys.stderr = open(os.devnull, "w")  # noqa: SIM115
    configure(production=True, level="info")
    with tempfile.TemporaryDirectory(prefix="sw-bench-metrics-") as tmp:
        data_dir = Path(tmp)
        os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)  # the files go under this run's data dir
        on: list[tuple[float, float]] = []
        off: list[tuple[float, float]] = []
        for index in range(args.rounds):
            # Which goes first alternates: the first run of a pair tends to be the slower one.
            for flag in (True, False) if index % 2 == 0 else (False, True):
                (on if flag else off).append(await run(args.redis, args.jobs, args.concurrency, on=flag,
                                                       data_dir=data_dir))
        files = sorted(p.name for p in (data_dir / "metrics").glob("*.db"))
    a, b = statistics.median(r for r, _ in on), statistics.median(r for r, _ in off)
    # Rounds run back to back share the machine's load: the median of each pair's ratio is steadier.
    paired = statistics.median(r_on / r_off for (r_on, _), (r_off, _) in zip(on, off, strict=True))
    ca, cb = statistics.median(c for _, c in on), statistics.median(c for _, c in off)
    print(f"jobs={args.jobs} rounds={args.rounds} concurrency={args.concurrency} metric files={files}")
    for label, runs, rate, cpu in (("metrics off", off, b, cb), ("metrics on ", on, a, ca)):
        print(f"{label}   : {rate:8.0f} jobs/s  {cpu:6.3f} CPU ms/job  "
              f"(runs: {', '.join(f'{r:.0f}' for r, _ in runs)})")
    print(f"ratio on/off  : {a / b:.3f} throughput, {paired:.3f} median of paired rounds (target >= 0.95); "
          f"CPU per job {ca / cb:.3f}")
    hook_off, hook_on = await hook_cost()
    print(f"consumer hook : {hook_off:.1f} us/job off, {hook_on:.1f} us/job on; on adds "
          f"{(hook_on - hook_off) / (cb * 1000):.1%} to the {cb:.3f} CPU ms a job costs with metrics off")


if __name__ == "__main__":
    asyncio.run(main())
