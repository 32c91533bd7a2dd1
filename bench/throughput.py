"""Throughput: N no-op jobs through SmartWorker's worker and through a bare BullMQ worker.

Both run on the same Redis in the same process, alternating, so machine noise hits both alike.
Prints jobs/s for each and the ratio (target: SmartWorker >= 0.9 x bare BullMQ).

    python bench/throughput.py [--jobs 5000] [--rounds 3] [--concurrency 1]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
import uuid
from typing import Any

from bullmq import Queue, Worker

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


async def run_bare(url: str, n: int, concurrency: int) -> float:
    name = f"bench-bare-{uuid.uuid4().hex[:6]}"
    await fill(url, name, n)
    q = Queue(name, {"connection": url})

    async def process(job: Any, token: str) -> None:
        return None

    started = time.perf_counter()
    worker = Worker(name, process, {"connection": url, "concurrency": concurrency})
    await drained(q, n)
    elapsed = time.perf_counter() - started
    await worker.close()
    await q.obliterate(force=True)
    await q.close()
    return n / elapsed


async def run_ours(url: str, n: int, concurrency: int) -> float:
    name = f"bench-sw-{uuid.uuid4().hex[:6]}"
    settings = load_settings(redis_url=url, queue_name=name, worker_concurrency=concurrency)
    await fill(url, name, n)
    queues = Queues(settings, url)
    started = time.perf_counter()
    worker = JobWorker(settings, queues, registry)
    await worker.start()
    await drained(queues.main, n)
    elapsed = time.perf_counter() - started
    await worker.close()
    await queues.main.obliterate(force=True)
    await queues.close()
    return n / elapsed


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--redis", default=os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0"))
    args = parser.parse_args()
    # Logs as in production (JSON, info) but thrown away, so their cost is measured, not their I/O.
    sys.stderr = open(os.devnull, "w")  # noqa: SIM115
    configure(production=True, level="info")
    bare: list[float] = []
    ours: list[float] = []
    for _ in range(args.rounds):
        bare.append(await run_bare(args.redis, args.jobs, args.concurrency))
        ours.append(await run_ours(args.redis, args.jobs, args.concurrency))
    b, o = statistics.median(bare), statistics.median(ours)
    print(f"jobs={args.jobs} rounds={args.rounds} concurrency={args.concurrency}")
    print(f"bare bullmq   : {b:8.0f} jobs/s  (runs: {', '.join(f'{x:.0f}' for x in bare)})")
    print(f"smartworker   : {o:8.0f} jobs/s  (runs: {', '.join(f'{x:.0f}' for x in ours)})")
    print(f"ratio         : {o / b:.2f}  (target >= 0.90)")


if __name__ == "__main__":
    asyncio.run(main())
