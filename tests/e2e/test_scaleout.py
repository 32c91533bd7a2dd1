"""Scale-out: several `smartworker worker` processes, each with its own data dir, on one Redis.

Two hosts are simulated: one runs `worker --processes 2` (itself and a child), the other
`worker --processes 1`. Every job must run exactly once: none lost, none run twice.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from bullmq import Queue
from tests.e2e.conftest import ROOT, clean_env

from smartworker import keys
from smartworker.processes import alive

JOBS = 240
#: Long enough that one process alone would outlast BullMQ's 5 s idle wait: every process wakes and
#: takes a share whatever order the wake-ups come in.
JOB_SECONDS = 0.2


@pytest.fixture
def workers() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def start_worker(processes: int, env: dict[str, str], log: Path) -> subprocess.Popen[str]:
    with log.open("w") as out:
        return subprocess.Popen([sys.executable, "-m", "smartworker", "worker", "--processes", str(processes)],
                                env=env, cwd=ROOT, text=True, stdout=out, stderr=subprocess.STDOUT)


async def until(check: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await check():  # type: ignore[operator]
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{what} within {timeout}s")


async def test_two_hosts_on_one_redis_run_every_job_exactly_once(
        redis_url: str, tmp_path: Path, workers: list[subprocess.Popen[str]]) -> None:
    name = f"scale-{uuid.uuid4().hex[:8]}"
    marker = tmp_path / "runs.txt"
    base = {"APP_ROOT_DIR": str(ROOT / "tests" / "apps"), "SMARTWORKER_APP": "testapp", "AI_LOCAL_LLM": "false",
            "APP_EMBEDDED": "false", "REDIS_URL": redis_url, "APP_QUEUE_NAME": name, "WORKER_CONCURRENCY": "8"}
    hosts = [(2, tmp_path / "host-a"), (1, tmp_path / "host-b")]
    for processes, data_dir in hosts:
        data_dir.mkdir()
        env = clean_env(**base, APP_DATA_DIR=str(data_dir))
        workers.append(start_worker(processes, env, data_dir / "worker.log"))
    client = aioredis.from_url(redis_url)
    queue = Queue(name, {"connection": redis_url})
    try:
        beats = keys.worker_heartbeat(name)

        async def three_live() -> bool:
            for proc, (_, data_dir) in zip(workers, hosts, strict=True):
                assert proc.poll() is None, (data_dir / "worker.log").read_text()
            return int(await client.zcard(beats)) == 3

        await until(three_live, 60, "three worker processes did not beat")
        await queue.addBulk([{"name": "slow", "data": {"seconds": JOB_SECONDS, "marker": str(marker), "n": i}}
                             for i in range(JOBS)])

        async def all_done() -> bool:
            return int(await queue.getCompletedCount()) + int(await queue.getFailedCount()) >= JOBS

        await until(all_done, 120, "the jobs did not finish")
        assert await queue.getCompletedCount() == JOBS  # none lost, none failed
        runs = Counter(line.split()[0] for line in marker.read_text().splitlines())
        assert sum(runs.values()) == JOBS  # none ran twice
        assert len(runs) == 3, runs  # each process took a share
        events = await client.xrange(f"bull:{name}:events", count=100_000)
        completed = Counter(fields[b"jobId"] for _, fields in events if fields.get(b"event") == b"completed")
        assert len(completed) == JOBS and set(completed.values()) == {1}
    finally:
        for proc in workers:
            proc.send_signal(signal.SIGTERM)
        for proc in workers:
            assert proc.wait(60) == 0
        await queue.obliterate(force=True)
        await queue.close()
        await client.aclose()
    # The child of `--processes 2` stopped with its parent.
    for pid in runs:
        deadline = time.monotonic() + 10
        while alive(int(pid)) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        assert not alive(int(pid)), f"worker process {pid} outlived its parent"


def test_a_process_count_out_of_range_is_one_line(tmp_path: Path) -> None:
    env = clean_env(APP_EMBEDDED="false", APP_DATA_DIR=str(tmp_path))
    result = subprocess.run([sys.executable, "-m", "smartworker", "worker", "--processes", "0"], env=env,
                            cwd=ROOT, text=True, capture_output=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip() == "smartworker: --processes: must be between 1 and 256, got 0"


def test_a_child_whose_parent_died_while_it_started_stops(redis_url: str, tmp_path: Path) -> None:
    """A worker child learns its parent's pid from the parent, not from its own first look: a parent
    killed while the child was still importing (its child then already belongs to init) used to
    leave the child working for ever."""
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    env = clean_env(APP_ROOT_DIR=str(ROOT / "tests" / "apps"), SMARTWORKER_APP="testapp", AI_LOCAL_LLM="false",
                    APP_EMBEDDED="false", REDIS_URL=redis_url, APP_QUEUE_NAME=f"orphan-{uuid.uuid4().hex[:8]}",
                    APP_DATA_DIR=str(tmp_path), SMARTWORKER_PARENT_PID=str(gone.pid))
    child = subprocess.Popen([sys.executable, "-m", "smartworker.scaleout"], env=env, cwd=ROOT, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        out, _ = child.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        child.kill()
        out, _ = child.communicate()
        raise AssertionError(f"the child kept running without its parent:\n{out[-2000:]}") from None
    assert child.returncode == 0, out
    assert "parent process gone" in out
