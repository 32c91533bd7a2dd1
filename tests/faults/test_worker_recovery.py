"""Prompt recovery of jobs: a SIGKILLed worker's jobs run again within 15 s, none is lost or completed
twice; a delayed job and a retry on an idle queue run within 1 s of their due time.

Real ``smartworker worker`` processes on the real Redis (each test has its own queue), with the
default lock and stalled-check settings. The ``recorded`` handler of the test app appends every run
(job id, pid, start time, attempt) to a Redis list, so the test knows which process ran what, when.
"""

from __future__ import annotations

import asyncio
import itertools
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis
from bullmq import Queue
from tests.e2e.conftest import ROOT, clean_env
from tests.waiting import poll

from smartworker import keys

#: The issue's bounds: a killed worker's in-flight jobs run again within 15 s of the kill; a delayed
#: job or retry on an idle queue runs within 1 s of its due time. The defaults aim at 12 s and a few ms.
RECOVERY_BOUND_S = 15.0
ON_TIME_BOUND_S = 1.0


@dataclass(frozen=True)
class Run:
    """One run of a job by the ``recorded`` handler."""

    job_id: str
    pid: int
    started: float  #: wall clock, s
    attempt: int


class Workers:
    """``smartworker worker`` processes on one queue, started and SIGKILLed by the test."""

    def __init__(self, redis_url: str, queue: str, tmp: Path) -> None:
        self.redis_url = redis_url
        self.queue = queue
        self.tmp = tmp
        self.client = redis.Redis.from_url(redis_url, decode_responses=True)
        self.started: list[subprocess.Popen[str]] = []

    def start(self, concurrency: int = 2) -> subprocess.Popen[str]:
        """Start one and return it once its heartbeat is in Redis (its BullMQ worker is running)."""
        beats = keys.worker_heartbeat(self.queue)
        before = set(self.client.zrange(beats, 0, -1))
        n = len(self.started)
        env = clean_env(REDIS_URL=self.redis_url, APP_QUEUE_NAME=self.queue, APP_EMBEDDED="false",
                        AI_LOCAL_LLM="false", APP_ROOT_DIR=str(ROOT / "tests" / "apps"), SMARTWORKER_APP="testapp",
                        APP_DATA_DIR=str(self.tmp / f"data{n}"), WORKER_CONCURRENCY=str(concurrency),
                        LOG_LEVEL="warning")
        with (self.tmp / f"worker{n}.log").open("w") as out:  # the child keeps its own descriptor
            proc: subprocess.Popen[str] = subprocess.Popen([sys.executable, "-m", "smartworker", "worker"], env=env,
                                                           cwd=ROOT, text=True, stdout=out, stderr=subprocess.STDOUT)
        self.started.append(proc)

        def beating() -> bool:
            if proc.poll() is not None:
                raise AssertionError(f"worker exited with {proc.returncode}:\n{self.log(proc)}")
            return bool(set(self.client.zrange(beats, 0, -1)) - before)

        poll(beating, timeout=60)
        return proc

    def log(self, proc: subprocess.Popen[str]) -> str:
        """What a worker wrote."""
        return (self.tmp / f"worker{self.started.index(proc)}.log").read_text()[-4000:]

    def stop_all(self) -> None:
        """SIGTERM every worker still running (SIGKILL after 20 s)."""
        for proc in self.started:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.started:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.client.close()


@pytest.fixture
def workers(redis_url: str, queue_name: str, tmp_path: Path) -> Iterator[Workers]:
    """Worker processes of this test, stopped at the end whatever happens."""
    group = Workers(redis_url, queue_name, tmp_path)
    yield group
    group.stop_all()
    with redis.Redis.from_url(redis_url) as client:
        stale = [*client.scan_iter(f"bull:{queue_name}:*", count=1000),
                 *client.scan_iter(f"sw-test:{queue_name}:*", count=1000)]
        if stale:
            client.delete(*stale)


def add_jobs(redis_url: str, queue: str, jobs: list[tuple[dict[str, Any], dict[str, Any]]]) -> list[str]:
    """Add ``recorded`` jobs (data, options) to ``queue`` as a producer does; their ids."""

    async def go() -> list[str]:
        q = Queue(queue, {"connection": redis_url})
        try:
            return [str((await q.add("recorded", data, opts)).id) for data, opts in jobs]  # type: ignore[arg-type]
        finally:
            await q.close()

    return asyncio.run(go())


def runs(client: redis.Redis, record: str) -> list[Run]:
    """Every run recorded so far, in order."""
    out = []
    for line in client.lrange(record, 0, -1):
        job_id, pid, started, attempt = str(line).split()
        out.append(Run(job_id, int(pid), float(started), int(attempt)))
    return out


def completions(client: redis.Redis, queue: str) -> dict[str, int]:
    """How many times BullMQ recorded each job as completed (its event stream)."""
    counts: dict[str, int] = {}
    for _, fields in client.xrange(f"bull:{queue}:events", "-", "+"):
        if fields.get("event") == "completed":
            counts[fields["jobId"]] = counts.get(fields["jobId"], 0) + 1
    return counts


def test_sigkill_loop_loses_nothing_completes_nothing_twice_and_recovers_within_15_s(
        workers: Workers, redis_url: str, queue_name: str) -> None:
    client = workers.client
    record = f"sw-test:{queue_name}:runs"
    total = 300
    ids = add_jobs(redis_url, queue_name,
                   [({"redis": redis_url, "record": record, "seconds": 1.0, "n": n}, {}) for n in range(total)])
    workers.start()  # the survivor
    victim = workers.start()
    kills: list[tuple[int, float]] = []  # (pid, when)
    while len(kills) < 4:
        # Kill only once the (re)started victim runs jobs, and while enough work is left to see it
        # recover: every job it held at the previous kill has completed again by now, so no job is
        # in flight at two kills (BullMQ fails a job that stalls twice, by design).
        poll(lambda pid=victim.pid: sum(r.pid == pid for r in runs(client, record)) >= 2, timeout=60)
        if int(client.llen(f"bull:{queue_name}:wait")) < 20:
            break
        victim.send_signal(signal.SIGKILL)
        victim.wait(10)
        kills.append((victim.pid, time.time()))
        held = {r.job_id for r in runs(client, record) if r.pid == victim.pid}
        victim = workers.start()  # a supervisor restarts it

        def recovered(held: set[str] = held) -> bool:
            done = set(client.zrange(f"bull:{queue_name}:completed", 0, -1))
            return held <= done

        poll(recovered, timeout=60)
    poll(lambda: int(client.zcard(f"bull:{queue_name}:completed")) == total, timeout=180)

    assert len(kills) >= 3, f"only {len(kills)} kills happened before the queue drained"
    everything = runs(client, record)
    # 0 lost, 0 completed twice
    assert set(client.zrange(f"bull:{queue_name}:completed", 0, -1)) == set(ids)
    assert int(client.zcard(f"bull:{queue_name}:failed")) == 0
    counted = completions(client, queue_name)
    assert sorted(j for j in ids if counted.get(j) != 1) == [], "jobs not completed exactly once"
    # A job ran again only because the process running it was killed, and soon after the kill.
    killed_at = dict(kills)
    recoveries: list[float] = []
    by_job: dict[str, list[Run]] = {}
    for run in everything:
        by_job.setdefault(run.job_id, []).append(run)
    for job_id, job_runs in by_job.items():
        for earlier, later in itertools.pairwise(job_runs):
            assert earlier.pid in killed_at, f"job {job_id} ran twice without a kill: {job_runs}"
            recoveries.append(later.started - killed_at[earlier.pid])
    assert len(recoveries) >= len(kills), f"too few jobs were in flight at the kills: {recoveries}"
    print(f"SIGKILL loop: {len(kills)} kills, {len(recoveries)} in-flight jobs back after "
          f"{min(recoveries):.1f}-{max(recoveries):.1f} s (bound {RECOVERY_BOUND_S:.0f} s)")
    assert max(recoveries) <= RECOVERY_BOUND_S, sorted(recoveries)


def test_delayed_job_and_retry_on_an_idle_queue_run_on_time(workers: Workers, redis_url: str,
                                                            queue_name: str) -> None:
    client = workers.client
    record = f"sw-test:{queue_name}:runs"
    workers.start()
    # Idle for longer than the drain delay (5 s) first: the worker sits in its blocking wait.
    time.sleep(6)
    # Delays longer than the 5 s read timeout that redis-py gives a socket by default: before the
    # wake-up fix the worker's wait timed out and was re-sent, and such jobs ran minutes late.
    base = {"redis": redis_url, "record": record}
    delayed, retried = add_jobs(redis_url, queue_name, [
        (base, {"delay": 7000}),
        ({**base, "fail_attempts": 1}, {"attempts": 2, "backoff": {"type": "fixed", "delay": 8000}}),
    ])
    job = client.hgetall(f"bull:{queue_name}:{delayed}")
    due = (int(job["timestamp"]) + int(job["delay"])) / 1000

    def second_attempt() -> list[Run]:
        return [r for r in runs(client, record) if r.job_id == retried and r.attempt == 2]

    poll(second_attempt, timeout=60)
    poll(lambda: [r for r in runs(client, record) if r.job_id == delayed], timeout=60)
    delayed_run = next(r for r in runs(client, record) if r.job_id == delayed)
    first, second = (next(r for r in runs(client, record) if r.job_id == retried and r.attempt == n) for n in (1, 2))
    # The retry is due 8 s after its first attempt failed, which is after that attempt started.
    late = {"delayed job": delayed_run.started - due, "retry": second.started - (first.started + 8.0)}
    print("late after due: " + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in late.items()))
    assert late["delayed job"] >= 0, "the delayed job ran early"
    assert all(v <= ON_TIME_BOUND_S for v in late.values()), late

