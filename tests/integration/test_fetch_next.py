"""FetchNextWorker against real Redis: one script call per job, and the same job semantics as bullmq's.

The semantic test runs one workload through bullmq's own Worker and through FetchNextWorker and
compares what each left in Redis and which events each fired.
"""

from __future__ import annotations

import asyncio
import gc
import uuid
import weakref
from collections import Counter
from typing import Any

import redis.asyncio as aioredis
from bullmq import Job, Queue, UnrecoverableError, Worker
from tests.faults import conftest as faults
from tests.faults.conftest import OwnRedis
from tests.integration.test_worker import wait_for

from smartworker.fetch_next import FetchNextWorker

#: A redis-server of the test's own (the fault tests' fixture), so its command counts are the worker's alone.
own_redis = faults.own_redis


async def finished(queue: Queue, n: int) -> bool:
    counts = await queue.getJobCounts("completed", "failed")
    return int(counts["completed"]) + int(counts["failed"]) >= n


async def noop(job: Job, token: str) -> None:
    return None


async def test_a_busy_worker_makes_one_script_call_per_job(own_redis: OwnRedis) -> None:
    name = f"fn-calls-{uuid.uuid4().hex[:6]}"
    n = 300
    queue = Queue(name, {"connection": own_redis.url})
    client = aioredis.from_url(own_redis.url)
    try:
        await queue.addBulk([{"name": "noop", "data": {"i": i}} for i in range(n)])
        await client.config_resetstat()
        done = asyncio.Event()
        completed: list[str] = []

        def on_completed(job: Job, *_: Any) -> None:
            completed.append(job.id)
            if len(completed) == n:
                done.set()

        worker = FetchNextWorker(name, noop, {"connection": own_redis.url, "concurrency": 1})
        worker.on("completed", on_completed)
        await asyncio.wait_for(done.wait(), 30)  # not polling Redis: its counts use a script too
        await worker.close()
        stats = await client.info("commandstats")
        scripts = int(stats.get("cmdstat_evalsha", {}).get("calls", 0))
        # bullmq's own worker makes two per job (moveToFinished, then moveToActive).
        assert scripts <= n + 10, f"{scripts} script calls for {n} jobs"
        assert await queue.getCompletedCount() == n
    finally:
        await queue.obliterate(force=True)
        await queue.close()
        await client.aclose()


class NoCustomerError(ValueError):
    """A handler's error (a subclass: builtin exceptions take no weak reference)."""


async def test_a_failed_jobs_exception_is_freed_without_the_garbage_collector(redis_url: str) -> None:
    """A storm fails thousands of jobs: what each failure leaves must go when its last reference does,
    not wait in a reference cycle for a collection (which cost more CPU than the failure's Redis call)."""
    name = f"fn-freed-{uuid.uuid4().hex[:6]}"
    raised: list[weakref.ref[BaseException]] = []

    def no_customer(job: Job) -> NoCustomerError:
        exc = NoCustomerError(f"job {job.id} has no customer")
        raised.append(weakref.ref(exc))
        return exc

    async def fails(job: Job, token: str) -> None:
        raise no_customer(job)  # no local holds it: a handler's own frame would make a cycle of its own

    n = 20
    queue = Queue(name, {"connection": redis_url})
    failed: list[str] = []
    done = asyncio.Event()

    def on_failed(job: Job, *_: Any) -> None:
        failed.append(job.id)
        if len(failed) == n:
            done.set()

    gc.collect()
    gc.disable()
    try:
        await queue.addBulk([{"name": "fails", "data": {"i": i}, "opts": {"attempts": 1}} for i in range(n)])
        worker = FetchNextWorker(name, fails, {"connection": redis_url, "concurrency": 2})
        worker.on("failed", on_failed)
        await asyncio.wait_for(done.wait(), 30)
        await worker.close()
        await asyncio.sleep(0)
        alive = [ref() for ref in raised if ref() is not None]
        assert len(raised) == n and not alive, f"{len(alive)} of {len(raised)} exceptions still held: {alive[:2]}"
        assert await queue.getFailedCount() == n
        job = await Job.fromId(queue, failed[0])
        assert "has no customer" in job.stacktrace[-1]  # the trace is still stored in full
    finally:
        gc.enable()
        await queue.obliterate(force=True)
        await queue.close()


async def _workload(cls: type[Worker], redis_url: str) -> tuple[dict[str, Any], Counter[str]]:
    """Run one mixed workload; return each job's final record (by its data's key) and event counts."""
    name = f"fn-sem-{uuid.uuid4().hex[:6]}"
    queue = Queue(name, {"connection": redis_url})
    jobs: list[dict[str, Any]] = []
    for i in range(20):
        jobs.append({"name": "ok", "data": {"key": f"ok{i}"}, "opts": {"attempts": 3}})
    for i in range(5):
        jobs.append({"name": "flaky", "data": {"key": f"flaky{i}"},
                     "opts": {"attempts": 3, "backoff": {"type": "fixed", "delay": 100}}})
    for i in range(3):  # retried at once (no backoff): bullmq's retry script, which fetches nothing
        jobs.append({"name": "flaky", "data": {"key": f"now{i}"}, "opts": {"attempts": 2}})
    for i in range(5):
        jobs.append({"name": "fail", "data": {"key": f"fail{i}"},
                     "opts": {"attempts": 2, "backoff": {"type": "exponential", "delay": 50}}})
    jobs.append({"name": "unrecoverable", "data": {"key": "unrec"}, "opts": {"attempts": 5}})
    jobs.append({"name": "ok", "data": {"key": "removed"}, "opts": {"removeOnComplete": True}})
    added = await queue.addBulk(jobs)
    events: Counter[str] = Counter()

    async def process(job: Job, token: str) -> Any:
        if job.name == "flaky" and job.attemptsMade == 0:
            raise ValueError("first attempt fails")
        if job.name == "fail":
            raise ValueError("always fails")
        if job.name == "unrecoverable":
            raise UnrecoverableError("no point retrying")
        return {"done": job.data["key"]}

    worker = cls(name, process, {"connection": redis_url, "concurrency": 5})
    for event in ("active", "completed", "failed", "error"):
        worker.on(event, lambda *args, event=event: events.update([event]))
    try:
        await wait_for(lambda: finished(queue, len(jobs) - 1), 20.0)
        await asyncio.sleep(0.3)  # nothing more happens after the last job settles
    finally:
        await worker.close()
    records: dict[str, Any] = {}
    for job in added:
        key = jobs[added.index(job)]["data"]["key"]
        stored = await Job.fromId(queue, job.id)
        if stored is None:
            records[key] = "removed"
            continue
        state = await queue.getJobState(job.id)
        records[key] = (state, stored.attemptsMade, stored.returnvalue, stored.failedReason)
    await queue.obliterate(force=True)
    await queue.close()
    return records, events


async def test_jobs_end_exactly_as_with_bullmqs_own_worker(redis_url: str) -> None:
    theirs, their_events = await _workload(Worker, redis_url)
    ours, our_events = await _workload(FetchNextWorker, redis_url)
    assert ours == theirs
    assert our_events == their_events
    # And the outcome itself is the one bullmq documents (so the comparison cannot pass vacuously).
    assert theirs["ok0"] == ("completed", 1, {"done": "ok0"}, None)
    assert theirs["flaky0"] == ("completed", 2, {"done": "flaky0"}, "first attempt fails")
    assert theirs["now0"] == ("completed", 2, {"done": "now0"}, "first attempt fails")
    assert theirs["fail0"] == ("failed", 2, None, "always fails")
    assert theirs["unrec"] == ("failed", 1, None, "no point retrying")
    assert theirs["removed"] == "removed"
    assert their_events == Counter(active=20 + 10 + 6 + 10 + 1 + 1, completed=20 + 5 + 3 + 1, failed=5 + 3 + 10 + 1)


async def test_a_job_held_by_a_dead_worker_is_recovered(redis_url: str) -> None:
    name = f"fn-stalled-{uuid.uuid4().hex[:6]}"
    queue = Queue(name, {"connection": redis_url})
    job = await queue.add("noop", {"x": 1})
    # A worker takes the job and dies: it never renews its short lock.
    dead = Worker(name, None, {"connection": redis_url, "lockDuration": 300})
    taken = await dead.moveToActive("dead:1")
    assert taken is not None and taken.id == job.id
    await dead.close()
    stalled: list[str] = []
    worker = FetchNextWorker(name, noop, {"connection": redis_url, "stalledInterval": 300, "lockDuration": 300})
    worker.on("stalled", lambda job_id, *_: stalled.append(job_id))
    try:
        await wait_for(lambda: finished(queue, 1), 20.0)
        assert await queue.getJobState(job.id) == "completed"
        assert stalled == [job.id]
    finally:
        await worker.close()
        await queue.obliterate(force=True)
        await queue.close()


async def test_redis_losing_its_scripts_loses_no_job(own_redis: OwnRedis) -> None:
    name = f"fn-flush-{uuid.uuid4().hex[:6]}"
    queue = Queue(name, {"connection": own_redis.url})
    client = aioredis.from_url(own_redis.url)
    flushed = False

    async def process(job: Job, token: str) -> None:
        nonlocal flushed
        if not flushed and int(job.data["i"]) == 20:
            flushed = True
            await client.script_flush()  # as after a Redis restart: the next completions get NOSCRIPT

    try:
        await queue.addBulk([{"name": "noop", "data": {"i": i}} for i in range(60)])
        worker = FetchNextWorker(name, process, {"connection": own_redis.url, "concurrency": 5})
        await wait_for(lambda: finished(queue, 60), 20.0)
        await worker.close()
        assert flushed
        assert await queue.getCompletedCount() == 60
    finally:
        await queue.obliterate(force=True)
        await queue.close()
        await client.aclose()


async def test_jobs_handed_back_before_close_are_not_taken_again(redis_url: str) -> None:
    from smartworker.shutdown import hand_back

    name = f"fn-handback-{uuid.uuid4().hex[:6]}"
    queue = Queue(name, {"connection": redis_url})
    runs: list[str] = []
    started = asyncio.Event()

    async def slow(job: Job, token: str) -> None:
        runs.append(job.id)
        started.set()
        await asyncio.sleep(30)

    worker = FetchNextWorker(name, slow, {"connection": redis_url, "concurrency": 4})
    try:
        job = await queue.add("slow", {})
        await asyncio.wait_for(started.wait(), 10)
        # A second Ctrl-C can reach the worker before its close() does (JobWorker.hurry).
        assert await hand_back(worker) == 1
        await asyncio.sleep(1.0)
        assert await queue.getJobState(job.id) == "waiting"
        assert runs == [job.id]
    finally:
        await asyncio.wait_for(worker.close(), 10)
        await queue.obliterate(force=True)
        await queue.close()
