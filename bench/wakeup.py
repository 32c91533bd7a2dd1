"""Wake-up latency of an idle worker: bullmq's Worker and SmartWorker's WakeupWorker side by side.

For each worker, on a queue of its own on the same Redis, in the same process, alternating:
- busy: a job added the moment the previous one finished (the worker has just re-entered its wait);
- idle: a job added after the queue sat empty for longer than the drain delay (5 s);
- delayed: a job added with a delay, on an idle queue: how late after its due time it starts.
Prints each sample's median and worst, and the idle/busy ratio (target: first job after idle starts
within 100 ms; delayed jobs within 1 s of due). A sample that has not started after --give-up
seconds is reported as that many seconds (bullmq's worker can wait minutes).

    python bench/wakeup.py [--rounds 2] [--idle 6,12] [--delays 2000,7000] [--give-up 20]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
import uuid
from collections.abc import Callable
from typing import Any

from bullmq import Queue, Worker

from smartworker.wakeup import WakeupWorker

BUSY_SAMPLES = 20


class Probe:
    """One worker kind on its own queue, recording when each job starts."""

    def __init__(self, url: str, kind: Callable[..., Any], label: str) -> None:
        self.label = label
        self.name = f"bench-wake-{label}-{uuid.uuid4().hex[:6]}"
        self.started: dict[str, float] = {}
        self.queue = Queue(self.name, {"connection": url})

        async def process(job: Any, token: str) -> None:
            self.started[str(job.id)] = time.time()

        self.worker = kind(self.name, process, {"connection": url})

    async def latency(self, opts: dict[str, Any], give_up: float) -> float:
        """Seconds from the job's due time (its add time plus any delay) to its start."""
        added = time.time()
        job = await self.queue.add("probe", {}, opts)  # type: ignore[arg-type]
        due = added + opts.get("delay", 0) / 1000
        deadline = due + give_up
        while str(job.id) not in self.started and time.time() < deadline:
            await asyncio.sleep(0.002)
        return self.started.get(str(job.id), deadline) - due

    async def close(self) -> None:
        await self.worker.close()
        await self.queue.obliterate({"force": True})
        await self.queue.close()


def summary(samples: list[float]) -> str:
    return f"median {statistics.median(samples) * 1000:8.1f} ms  worst {max(samples) * 1000:8.1f} ms"


async def main(args: argparse.Namespace) -> None:
    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    idles = [float(v) for v in args.idle.split(",")]
    delays = [int(v) for v in args.delays.split(",")]
    probes = [Probe(url, Worker, "bullmq"), Probe(url, WakeupWorker, "wakeup")]
    results: dict[tuple[str, str], list[float]] = {}
    await asyncio.sleep(1)  # both workers in their first wait
    try:
        for _ in range(args.rounds):
            for probe in probes:
                for _ in range(BUSY_SAMPLES):
                    results.setdefault((probe.label, "busy"), []).append(await probe.latency({}, args.give_up))
            for idle in idles:
                await asyncio.sleep(idle)  # both queues idle at once: the round costs the longest idle
                samples = await asyncio.gather(*(p.latency({}, args.give_up) for p in probes))
                for probe, sample in zip(probes, samples, strict=True):
                    results.setdefault((probe.label, f"idle {idle:g} s"), []).append(sample)
            for delay in delays:
                samples = await asyncio.gather(*(p.latency({"delay": delay}, args.give_up) for p in probes))
                for probe, sample in zip(probes, samples, strict=True):
                    results.setdefault((probe.label, f"delay {delay / 1000:g} s, late by"), []).append(sample)
    finally:
        for probe in probes:
            await probe.close()
    print(f"rounds {args.rounds}, busy samples {BUSY_SAMPLES} per round, give-up {args.give_up:g} s")
    for (label, case), samples in results.items():
        line = f"{label:7} {case:24} {summary(samples)}"
        if case != "busy":
            busy = statistics.median(results[(label, "busy")])
            line += f"  ratio to busy {statistics.median(samples) / busy:6.1f}" if case.startswith("idle") else ""
        print(line)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--idle", default="6,12", help="idle periods in seconds, comma-separated")
    parser.add_argument("--delays", default="2000,7000", help="job delays in ms, comma-separated")
    parser.add_argument("--give-up", type=float, default=20.0)
    asyncio.run(main(parser.parse_args()))
