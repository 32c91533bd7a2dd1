"""Throughput of the main queue: SmartWorker against bare Python bullmq and Node BullMQ, then a storm.

1. No-op jobs at concurrency 1 and 50 through SmartWorker's JobWorker, bullmq's own Python Worker and
   (when node and tests/node's npm packages are there) Node BullMQ's Worker. All on one Redis; the
   Python workers run in this process, Node's in a child; the systems alternate round by round, so
   machine noise hits them alike. Each run fills its own queue first and is timed from its first
   completion to its last (counted from the worker's events, not by polling Redis).
2. A storm: 5,000 jobs with 10 % failing for good, memory on (a fresh PostgreSQL database), against
   the same 5,000 all succeeding, each through `smartworker worker --processes 1` as production runs
   it. Timed from the first job added until the main queue is empty. Calm and storm runs alternate,
   ``--rounds`` of each, and their medians are compared.

   The storm run also prints the CPU per job of the process working the main queue and of it with
   its children (the intake process, an embedded PostgreSQL), and when the failures were all moved
   to the DLQ and remembered.
3. The memory intake (bench/intake.py's ``measure_intake``): repeated and all-distinct failures.

Prints a table, then these lines, each alone on its line (targets in docs/benchmarks.md):

    c50 ratio vs bullmq: X
    c50 ratio vs node: X
    storm ratio: X
    memory intake: N failures/s
    memory intake distinct: N failures/s

    python bench/throughput.py                 # all of it (about 5 minutes on 2 busy cores)
    python bench/throughput.py --no-storm      # the queue comparison only
    python bench/throughput.py --only-storm    # the storm and the memory intake only
    python bench/throughput.py --scale         # and `worker --processes 2` against 1
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psutil
import psycopg
import redis.asyncio as aioredis
from bullmq import Queue, Worker
from psycopg import sql

from smartworker import keys
from smartworker.config import load_settings
from smartworker.jobs import registry
from smartworker.logs import configure
from smartworker.queues import Queues
from smartworker.worker import JobWorker

#: bench/ itself, where intake.py lives (this script runs as a file, not as a package).
BENCH_DIR = Path(__file__).resolve().parent

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
NODE_BULLMQ = ROOT / "tests" / "node" / "node_modules" / "bullmq"


@registry.handler("noop")
async def noop(data: dict[str, Any]) -> None:
    return None


class Run:
    """One timed run: jobs per second and CPU milliseconds per job (of the process doing the work)."""

    def __init__(self, jobs_per_s: float, cpu_ms_per_job: float) -> None:
        self.jobs_per_s = jobs_per_s
        self.cpu_ms_per_job = cpu_ms_per_job


async def fill(url: str, queue: str, n: int) -> None:
    q = Queue(queue, {"connection": url})
    for start in range(0, n, 1000):
        await q.addBulk([{"name": "noop", "data": {"i": i}, "opts": {"removeOnComplete": True}}
                         for i in range(start, min(n, start + 1000))])
    await q.close()


async def drop(url: str, queue: str) -> None:
    q = Queue(queue, {"connection": url})
    await q.obliterate(force=True)
    await q.close()


class Completions:
    """Counts a worker's ``completed`` events and times them from the first to the n-th.

    From the first completion, not the worker's creation: connecting and loading scripts take a
    different, fixed time in each client (hundreds of ms for Node's), which is not throughput.
    """

    def __init__(self, n: int) -> None:
        self.n = n
        self.count = 0
        self.all = asyncio.Event()
        self.first = (0.0, 0.0)
        self.last = (0.0, 0.0)

    def __call__(self, *_: Any) -> None:
        self.count += 1
        if self.count == 1:
            self.first = (time.perf_counter(), time.process_time())
        if self.count == self.n:
            self.last = (time.perf_counter(), time.process_time())
            self.all.set()

    def run(self) -> Run:
        jobs = self.n - 1
        return Run(jobs / (self.last[0] - self.first[0]), (self.last[1] - self.first[1]) * 1000 / jobs)


async def timed(start: Callable[[Completions], Awaitable[Any]], n: int) -> tuple[Run, Any]:
    done = Completions(n)
    handle = await start(done)
    await asyncio.wait_for(done.all.wait(), 600)
    return done.run(), handle


async def run_bare(url: str, n: int, concurrency: int) -> Run:
    name = f"bench-bare-{uuid.uuid4().hex[:6]}"
    await fill(url, name, n)

    async def process(job: Any, token: str) -> None:
        return None

    async def start(done: Completions) -> Worker:
        worker = Worker(name, process, {"connection": url, "concurrency": concurrency})
        worker.on("completed", done)
        return worker

    run, worker = await timed(start, n)
    await worker.close()
    await drop(url, name)
    return run


async def run_ours(url: str, n: int, concurrency: int) -> Run:
    name = f"bench-sw-{uuid.uuid4().hex[:6]}"
    settings = load_settings(redis_url=url, queue_name=name, worker_concurrency=concurrency)
    await fill(url, name, n)
    queues = Queues(settings, url)

    async def start(done: Completions) -> JobWorker:
        worker = JobWorker(settings, queues, registry)
        await worker.start()
        worker._worker.on("completed", done)  # the bullmq worker inside; nothing completes before the loop yields
        return worker

    run, worker = await timed(start, n)
    await worker.close()
    await drop(url, name)
    await queues.close()
    return run


async def run_node(url: str, n: int, concurrency: int, node: str) -> Run:
    name = f"bench-node-{uuid.uuid4().hex[:6]}"
    await fill(url, name, n)
    proc = await asyncio.create_subprocess_exec(node, str(HERE / "node_worker.cjs"), str(NODE_BULLMQ), url, name,
                                                str(n), str(concurrency), stdout=subprocess.PIPE)
    out, _ = await asyncio.wait_for(proc.communicate(), 600)
    await drop(url, name)
    if proc.returncode != 0:
        raise RuntimeError(f"node worker exited with {proc.returncode}")
    result = json.loads(out.decode().strip().splitlines()[-1])
    return Run(float(result["jobs_per_s"]), float(result["cpu_ms_per_job"]))


def node_binary() -> str | None:
    node = shutil.which("node")
    return node if node and (NODE_BULLMQ / "package.json").exists() else None


# -- the storm --------------------------------------------------------------------------------------
class Database:
    """A fresh database on the given server for one run's failure memory, dropped afterwards."""

    def __init__(self, dsn: str) -> None:
        self.admin = dsn
        self.name = f"sw_bench_{uuid.uuid4().hex[:8]}"
        self.dsn = urlunsplit(urlsplit(dsn)._replace(path=f"/{self.name}"))  # SmartWorker takes URLs only

    def __enter__(self) -> str:
        with psycopg.connect(self.admin, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.name)))
        return self.dsn

    def __exit__(self, *_: object) -> None:
        with psycopg.connect(self.admin, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(self.name)))


async def queue_busy(client: aioredis.Redis, name: str) -> int:
    """Jobs waiting or active in the queue ``name`` and in its companions (``name-*``) but the DLQ."""
    total = 0
    async for key in client.scan_iter(match=f"bull:{name}*"):
        text = key.decode()
        if text.startswith(f"bull:{name}{keys.DLQ_SUFFIX}:"):
            continue  # dead jobs wait there for a person, not for a worker
        if text.endswith((":wait", ":active")):
            total += int(await client.llen(key))
        elif text.endswith((":prioritized", ":delayed")):
            total += int(await client.zcard(key))
    return total


async def main_queue_busy(client: aioredis.Redis, name: str) -> int:
    pipe = client.pipeline(transaction=False)
    pipe.llen(f"bull:{name}:wait")
    pipe.llen(f"bull:{name}:active")
    pipe.zcard(f"bull:{name}:prioritized")
    pipe.zcard(f"bull:{name}:delayed")
    return sum(int(x) for x in await pipe.execute())


class Storm:
    """One storm run: main-queue jobs/s, the workers' CPU per job, and when the memory caught up."""

    def __init__(self, jobs_per_s: float, main_cpu_ms_per_job: float, cpu_ms_per_job: float,
                 caught_up_s: float) -> None:
        self.jobs_per_s = jobs_per_s
        self.main_cpu_ms_per_job = main_cpu_ms_per_job  #: CPU of the process working the main queue
        self.cpu_ms_per_job = cpu_ms_per_job  #: the same with its children (intake process, PostgreSQL)
        self.caught_up_s = caught_up_s  #: from the first job added until the DLQ moves and memory queue were done


def process_cpu(pid: int) -> tuple[float, float]:
    """CPU seconds of ``pid`` alone, and with its children (the intake process, an embedded PostgreSQL)."""
    proc = psutil.Process(pid)
    own = total = 0.0
    for p in (proc, *proc.children(recursive=True)):
        with contextlib.suppress(psutil.Error):
            times = p.cpu_times()
            total += times.user + times.system
            if p.pid == pid:
                own = total
    return own, total


async def run_storm(url: str, dsn: str | None, n: int, failing_share: float, concurrency: int,
                    processes: int = 1, catch_up: bool = True) -> Storm:
    """Main-queue jobs/s of one `smartworker worker` with memory on; ``failing_share`` of the jobs fail.

    Memory is a fresh database on ``dsn`` (a server with pgvector), else the embedded PostgreSQL the
    worker starts under its own data dir, as `smartworker up` would.
    """
    name = f"bench-storm-{uuid.uuid4().hex[:6]}"
    client = aioredis.from_url(url)
    data_dir = Path(tempfile.mkdtemp(prefix="sw-bench-storm-"))
    with contextlib.ExitStack() as stack:
        memory = {"DATABASE_URL": stack.enter_context(Database(dsn))} if dsn else {"APP_EMBEDDED": "true"}
        env = {**{k: v for k, v in os.environ.items() if not k.startswith(("APP_", "AI_", "REDIS_", "DATABASE_"))},
               "REDIS_URL": url, "APP_QUEUE_NAME": name, "APP_EMBEDDED": "false",
               "APP_ROOT_DIR": str(HERE), "SMARTWORKER_APP": "storm_app", "WORKER_CONCURRENCY": str(concurrency),
               "AI_LOCAL_LLM": "false", "APP_DATA_DIR": str(data_dir),
               "NODE_ENV": "production", "LOG_LEVEL": "warning", **memory}
        log_path = data_dir / "worker.log"
        with log_path.open("w") as log_file:  # the child keeps its own descriptor
            proc = subprocess.Popen([sys.executable, "-m", "smartworker", "worker", "--processes", str(processes)],  # noqa: ASYNC220
                                    env=env, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=log_file,
                                    stderr=subprocess.STDOUT)
        queue = Queue(name, {"connection": url})
        try:
            deadline = time.monotonic() + 180
            while int(await client.zcard(keys.worker_heartbeat(name))) < processes:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the storm's worker did not start:\n{log_path.read_text()[-2000:]}")
                await asyncio.sleep(0.1)
            # Warm up: one failure through the whole path (DLQ, memory, embedding model loaded).
            await queue.add("fails", {"order": -1}, {"attempts": 1})
            await asyncio.sleep(0.5)
            while await queue_busy(client, name) or await client.zcard(f"bull:{name}:failed"):
                await asyncio.sleep(0.2)
            await settled(proc.pid)
            failing = round(n * failing_share)
            every = n // failing if failing else n + 1
            jobs = [{"name": "fails" if failing and i % every == 0 else "ok", "data": {"order": i},
                     "opts": {"attempts": 1, "removeOnComplete": True}} for i in range(n)]
            started, cpu0 = time.perf_counter(), process_cpu(proc.pid)
            for start in range(0, n, 1000):
                await queue.addBulk(jobs[start:start + 1000])
            while await main_queue_busy(client, name):
                await asyncio.sleep(0.02)
            took, cpu = time.perf_counter() - started, process_cpu(proc.pid)
            # The main queue is done; the failures' DLQ moves and memory intake may still run.
            while catch_up and (await queue_busy(client, name) or await client.zcard(f"bull:{name}:failed")):
                await asyncio.sleep(0.05)
            return Storm(n / took, 1000 * (cpu[0] - cpu0[0]) / n, 1000 * (cpu[1] - cpu0[1]) / n,
                         time.perf_counter() - started)
        finally:
            proc.terminate()
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            for suffix in ("", *keys_suffixes()):
                await drop(url, name + suffix)
            await queue.close()
            await client.aclose()
            shutil.rmtree(data_dir, ignore_errors=True)


async def settled(pid: int, idle_share: float = 0.05, window_s: float = 0.5, limit_s: float = 20.0) -> None:
    """Wait until the worker and its children use less than ``idle_share`` of a core over ``window_s``.

    The warm-up failure's memory intake (the embedding model's first load) went on after its jobs
    had left the queues and was counted in the next run.
    """
    deadline = time.monotonic() + limit_s
    before = process_cpu(pid)[1]
    while time.monotonic() < deadline:
        await asyncio.sleep(window_s)
        now = process_cpu(pid)[1]
        if now - before < idle_share * window_s:
            return
        before = now


def keys_suffixes() -> tuple[str, ...]:
    return (keys.DLQ_SUFFIX, keys.REASONING_SUFFIX, keys.SANDBOX_SUFFIX, keys.MEMORY_SUFFIX)


# -- main -------------------------------------------------------------------------------------------
def median(runs: list[Run]) -> Run:
    return Run(statistics.median(r.jobs_per_s for r in runs), statistics.median(r.cpu_ms_per_job for r in runs))


def median_storm(runs: list[Storm]) -> Storm:
    """Each figure's median over the runs."""
    return Storm(*(statistics.median(getattr(r, field) for r in runs)
                   for field in ("jobs_per_s", "main_cpu_ms_per_job", "cpu_ms_per_job", "caught_up_s")))


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=5000, help="jobs per concurrency-50 run")
    parser.add_argument("--jobs-c1", type=int, default=2000, help="jobs per concurrency-1 run")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each system, and of the calm and storm runs")
    parser.add_argument("--storm-jobs", type=int, default=5000)
    parser.add_argument("--no-storm", action="store_true")
    parser.add_argument("--only-storm", action="store_true",
                        help="skip the queue comparison: only the storm and the memory intake lines")
    parser.add_argument("--scale", action="store_true",
                        help="also: all-succeeding jobs through `worker --processes 2` against `--processes 1`")
    parser.add_argument("--redis", default=os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0"))
    parser.add_argument("--dsn", default=os.environ.get("BENCH_DATABASE_URL"),
                        help="a PostgreSQL server with pgvector where the storm may create its databases "
                             "(default: the worker's embedded PostgreSQL)")
    args = parser.parse_args()
    # Logs as in production (JSON, info) but thrown away, so their cost is measured, not their I/O.
    sys.stderr = open(os.devnull, "w")  # noqa: SIM115
    configure(production=True, level="info")
    node = node_binary()
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; cores: {os.cpu_count()}")
    if node is None:
        print("node BullMQ: skipped (no node, or no `npm install` in tests/node)")
    medians: dict[tuple[str, int], Run] = {}
    for concurrency, n in (() if args.only_storm else ((1, args.jobs_c1), (50, args.jobs))):
        runs: dict[str, list[Run]] = {"bullmq": [], "smartworker": [], "node": []}
        for _ in range(args.rounds):
            runs["bullmq"].append(await run_bare(args.redis, n, concurrency))
            runs["smartworker"].append(await run_ours(args.redis, n, concurrency))
            if node is not None:
                runs["node"].append(await run_node(args.redis, n, concurrency, node))
        for system, done in runs.items():
            if not done:
                continue
            m = medians[(system, concurrency)] = median(done)
            print(f"c{concurrency:<3} {system:12} {m.jobs_per_s:7.0f} jobs/s  {m.cpu_ms_per_job:6.3f} ms CPU/job  "
                  f"(runs: {', '.join(f'{r.jobs_per_s:.0f}' for r in done)})")
    if not args.only_storm:
        ours = medians[("smartworker", 50)].jobs_per_s
        print(f"c1 ratio vs bullmq: {medians[('smartworker', 1)].jobs_per_s / medians[('bullmq', 1)].jobs_per_s:.2f}")
        print(f"c50 ratio vs bullmq: {ours / medians[('bullmq', 50)].jobs_per_s:.2f}")
        if ("node", 50) in medians:
            print(f"c50 ratio vs node: {ours / medians[('node', 50)].jobs_per_s:.2f}")
        else:
            print("c50 ratio vs node: skipped (node BullMQ not installed)")

    if not args.no_storm:
        # Calm and storm runs alternate, ``--rounds`` of each; the medians are compared (one run of
        # 5,000 jobs lasts about a second, and one pair swung 0.65-1.02 on a quiet machine).
        calms: list[Storm] = []
        storms: list[Storm] = []
        for _ in range(args.rounds):
            calms.append(await run_storm(args.redis, args.dsn, args.storm_jobs, 0.0, 50))
            storms.append(await run_storm(args.redis, args.dsn, args.storm_jobs, 0.10, 50))
        calm, storm = median_storm(calms), median_storm(storms)
        print(f"storm runs: {', '.join(f'{s.jobs_per_s:.0f}' for s in storms)} jobs/s; calm runs: "
              f"{', '.join(f'{c.jobs_per_s:.0f}' for c in calms)} jobs/s")
        print(f"storm: {storm.jobs_per_s:.0f} jobs/s with 10 % failing, {calm.jobs_per_s:.0f} jobs/s with none "
              f"({args.storm_jobs} jobs, concurrency 50, memory on); CPU per job {storm.main_cpu_ms_per_job:.2f} "
              f"against {calm.main_cpu_ms_per_job:.2f} ms in the main worker, {storm.cpu_ms_per_job:.2f} against "
              f"{calm.cpu_ms_per_job:.2f} ms with its children; failures moved and remembered "
              f"{storm.caught_up_s:.1f} s after the first job was added")
        print(f"storm ratio: {storm.jobs_per_s / calm.jobs_per_s:.2f}")

    if args.scale:
        one = await run_storm(args.redis, args.dsn, args.storm_jobs, 0.0, 50, processes=1)
        two = await run_storm(args.redis, args.dsn, args.storm_jobs, 0.0, 50, processes=2)
        print(f"processes: {two.jobs_per_s:.0f} jobs/s with 2, {one.jobs_per_s:.0f} jobs/s with 1")
        print(f"processes 2 ratio vs 1: {two.jobs_per_s / one.jobs_per_s:.2f}")

    if not args.no_storm:
        # The memory numbers of the same run: bench/intake.py's repeated and all-distinct intake.
        sys.path.insert(0, str(BENCH_DIR))
        from intake import measure_intake

        intake = await measure_intake(args.dsn)
        for line in intake.lines()[:2]:
            print(line)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    asyncio.run(main())
