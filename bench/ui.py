"""Server time of the dashboard's pages with 10,000 jobs in a queue, beside the same pages on empty queues.

    PYTHONPATH=src python bench/ui.py [--jobs 10000] [--runs 20]

Starts its own redis-server on a free port (nothing shared is touched), fills one main queue with
``--jobs`` waiting jobs and a second with as many completed ones (each with a result), leaves a
twin pair of queues empty, and asks for each page in-process (httpx's ASGI transport: no socket,
so the time is the server's). Requests alternate between the full and the empty side so machine
noise hits both alike. Target: under 200 ms per page on the full side.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from bullmq import Queue

from smartworker.api.app import create_app
from smartworker.config import load_settings
from smartworker.service import Service

TARGET_MS = 200.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _fill(url: str, queue: str, count: int, *, completed: bool) -> None:
    q = Queue(queue, {"connection": url})
    try:
        for start in range(0, count, 1000):
            jobs = [{"name": "login", "data": {"email": f"user{i}@example.com", "password": f"pw-{i}",
                                                "note": "bench row " * 5}}
                    for i in range(start, min(start + 1000, count))]
            await q.addBulk(jobs)
        if completed:
            # Move them to completed as a worker would, without running one: BullMQ's layout.
            ids = await q.client.lrange(f"bull:{queue}:wait", 0, -1)
            now = int(time.time() * 1000)
            pipe = q.client.pipeline(transaction=False)
            for i, job_id in enumerate(ids):
                pipe.zadd(f"bull:{queue}:completed", {job_id: now + i})
                pipe.hset(f"bull:{queue}:{job_id}", mapping={
                    "returnvalue": '{"authenticated": true}', "finishedOn": now + i, "processedOn": now + i,
                    "atm": 1})
            pipe.delete(f"bull:{queue}:wait")
            await pipe.execute()
    finally:
        await q.close()


async def _time(client: httpx.AsyncClient, path: str) -> float:
    started = time.perf_counter()
    answer = await client.get(path)
    elapsed = (time.perf_counter() - started) * 1000
    if answer.status_code != 200:
        raise SystemExit(f"{path}: HTTP {answer.status_code}: {answer.text[:300]}")
    return elapsed


async def _side(url: str, queue: str, tmp: Path) -> tuple[Service, httpx.AsyncClient]:
    settings = load_settings(redis_url=url, queue_name=queue, data_dir=tmp / queue, ai_local_llm=False)
    service = await Service.open(settings)
    transport = httpx.ASGITransport(app=create_app(service))
    return service, httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1", follow_redirects=False)


def main(jobs: int, runs: int) -> None:
    """Start a private redis-server, run the comparison, stop it."""
    tmp = Path(tempfile.mkdtemp(prefix="sw-bench-ui-"))
    port = _free_port()
    redis = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                              "--appendonly", "no", "--dir", str(tmp)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(50):
            try:
                socket.create_connection(("127.0.0.1", port), 0.1).close()
                break
            except OSError:
                time.sleep(0.1)
        asyncio.run(compare(f"redis://127.0.0.1:{port}/0", tmp, jobs, runs))
    finally:
        redis.terminate()
        redis.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)


async def compare(url: str, tmp: Path, jobs: int, runs: int) -> None:
    """Fill the queues and time every page on both sides."""
    started = time.perf_counter()
    await _fill(url, "full", jobs, completed=False)
    await _fill(url, "full-done", jobs, completed=True)
    print(f"filled 2 x {jobs} jobs in {time.perf_counter() - started:.1f} s")
    full, full_client = await _side(url, "full", tmp)
    empty, empty_client = await _side(url, "empty", tmp)
    last = max(1, -(-jobs // 20))
    pages: list[tuple[str, str, str]] = [
        ("overview", "/ui/", "/ui/"),
        ("overview, live part", "/ui/live", "/ui/live"),
        ("job list, waiting, page 1", "/ui/queues/full?state=waiting", "/ui/queues/empty?state=waiting"),
        (f"job list, waiting, page {last}", f"/ui/queues/full?state=waiting&page={last}",
         f"/ui/queues/empty?state=waiting&page={last}"),
        ("job list, completed, page 1", "/ui/queues/full-done?state=completed",
         "/ui/queues/empty?state=completed"),
        ("search of every job's data", "/ui/queues/full?state=waiting&q=user9999%40",
         "/ui/queues/empty?state=waiting&q=user9999%40"),
    ]
    for client in (full_client, empty_client):  # warm up: templates, bwrap probe, discovery
        for _, a, b in pages:
            await client.get(a if client is full_client else b)
    print(f"{'page':<32} {'empty p50':>10} {'10k p50':>10} {'10k p95':>10} {'ratio':>7}  target")
    for name, full_path, empty_path in pages:
        a: list[float] = []
        b: list[float] = []
        for _ in range(runs):
            a.append(await _time(full_client, full_path))
            b.append(await _time(empty_client, empty_path))
        p50_full, p50_empty = statistics.median(a), statistics.median(b)
        p95_full = statistics.quantiles(a, n=20)[-1] if len(a) >= 2 else a[0]
        verdict = "ok" if p50_full < TARGET_MS else "OVER"
        if name.startswith("search"):
            verdict = "(no target: reads every job)"
        print(f"{name:<32} {p50_empty:>8.1f}ms {p50_full:>8.1f}ms {p95_full:>8.1f}ms "
              f"{p50_full / p50_empty:>6.2f}x  {verdict}")
    for client, service in ((full_client, full), (empty_client, empty)):
        await client.aclose()
        await service.close()


def _args(argv: list[str]) -> Any:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=20)
    return parser.parse_args(argv)


if __name__ == "__main__":
    args = _args(sys.argv[1:])
    main(args.jobs, args.runs)
