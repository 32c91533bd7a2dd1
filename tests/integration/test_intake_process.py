"""The failure intake runs in a child of `smartworker worker` at a lower CPU priority, and loses nothing.

`worker` with a memory database starts one child that moves the main queue's final failures to the
DLQ and stores them; the main worker's own failure hook is off then. Every failure must still reach
the DLQ once and the memory once (one row, its occurrences counted), and the child must end with
its parent.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psutil
import psycopg
import pytest
import redis.asyncio as aioredis
from bullmq import Queue
from psycopg.conninfo import conninfo_to_dict
from tests.integration.test_worker import wait_for

from smartworker import keys
from smartworker.memory.database import EmbeddedPostgres

ROOT = Path(__file__).resolve().parents[2]
FAILURES = 40
PREFIXES = ("APP_", "AI_", "REDIS_", "DATABASE_", "SMARTWORKER_", "HAZARD_", "SANDBOX_", "MEMORY_", "JOB_",
            "WORKER_", "FIX_", "OTEL_", "PROMETHEUS_")


def intake_children(pid: int) -> list[psutil.Process]:
    found = []
    for child in psutil.Process(pid).children(recursive=True):
        try:
            if "smartworker.memory.intake_process" in " ".join(child.cmdline()):
                found.append(child)
        except psutil.Error:
            continue
    return found


@pytest.mark.parametrize("processes", [1, 2])
async def test_failures_reach_the_dlq_and_memory_through_a_lower_priority_child(
        redis_url: str, embedded_pg: EmbeddedPostgres, database_dsn: str, tmp_path: Path, processes: int) -> None:
    """With ``--processes 2`` the worker child leaves its failures to the intake child too."""
    name = f"intake-{uuid.uuid4().hex[:8]}"
    # SmartWorker takes URLs only: the server's URL with the fresh database's name.
    url = urlunsplit(urlsplit(embedded_pg.dsn)._replace(path="/" + conninfo_to_dict(database_dsn)["dbname"]))
    env = {k: v for k, v in os.environ.items() if not k.startswith(PREFIXES)}
    env.update({"APP_ROOT_DIR": str(ROOT / "tests" / "apps"), "SMARTWORKER_APP": "testapp",
                "AI_LOCAL_LLM": "false", "APP_EMBEDDED": "false", "REDIS_URL": redis_url, "APP_QUEUE_NAME": name,
                "DATABASE_URL": url, "APP_DATA_DIR": str(tmp_path), "WORKER_CONCURRENCY": "8"})
    log = tmp_path / "worker.log"
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "smartworker", "worker", "--processes", str(processes)], env=env,  # noqa: ASYNC220
                                cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    client = aioredis.from_url(redis_url)
    queue = Queue(name, {"connection": redis_url})
    dlq = Queue(name + keys.DLQ_SUFFIX, {"connection": redis_url})
    children: list[psutil.Process] = []
    try:
        async def started() -> bool:
            assert proc.poll() is None, log.read_text()
            children[:] = intake_children(proc.pid)
            # Its priority is lowered right after it starts: it takes only the CPU the queue leaves.
            lowered = bool(children) and children[0].nice() > psutil.Process(proc.pid).nice()
            return lowered and int(await client.zcard(keys.worker_heartbeat(name))) == processes

        await wait_for(started, 120, "the worker and its intake child did not start")
        assert len(children) == 1

        await queue.addBulk([{"name": "boom", "data": {"why": "no stock", "n": i}, "opts": {"attempts": 1}}
                             for i in range(FAILURES)])

        async def all_dead() -> bool:
            # A move writes the DLQ entry first and removes the failed job last: both, or not yet.
            return (int(await dlq.getJobCountByTypes("waiting")) == FAILURES
                    and int(await queue.getFailedCount()) == 0)

        await wait_for(all_dead, 120, "the failures did not all move to the DLQ (moved, not left behind)")
        assert int(await queue.getFailedCount()) == 0

        async def all_remembered() -> bool:
            async with await psycopg.AsyncConnection.connect(database_dsn) as conn:
                try:
                    cur = await conn.execute("SELECT count(*), coalesce(sum(occurrences), 0) FROM failures")
                except psycopg.errors.UndefinedTable:
                    return False
                row = await cur.fetchone()
            assert row is not None
            return (int(row[0]), int(row[1])) == (1, FAILURES)

        await wait_for(all_remembered, 120, "the failures were not remembered as one failure")
        # No worker process moved a failure itself (its own move logs each one; the intake's does not).
        assert "job moved to DLQ" not in log.read_text()
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(60)
        for queue_name in (name, name + keys.DLQ_SUFFIX, name + keys.REASONING_SUFFIX, name + "-memory",
                           name + "-sandbox"):
            q = Queue(queue_name, {"connection": redis_url})
            await q.obliterate(force=True)
            await q.close()
        await queue.close()
        await dlq.close()
        await client.aclose()
    assert code == 0, log.read_text()
    for child in children:  # the child stopped with its parent
        deadline = time.monotonic() + 10
        while child.is_running() and child.status() != psutil.STATUS_ZOMBIE and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        assert not child.is_running() or child.status() == psutil.STATUS_ZOMBIE
