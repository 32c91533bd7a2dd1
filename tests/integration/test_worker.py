"""The worker against a real Redis: completion, retries, the DLQ, shutdown and stalled recovery."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from bullmq import Worker

from smartworker import keys
from smartworker.jobs import JobStatus
from smartworker.worker import JobWorker, live_workers


async def wait_for(check: Callable[[], Awaitable[Any]], timeout: float = 15.0,
                   what: str = "condition not met") -> Any:
    """Poll ``check`` until it returns something truthy; ``what`` names the failure if it never does."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = await check()
        if value:
            return value
        await asyncio.sleep(0.05)
    raise AssertionError(f"{what} within {timeout}s")


async def dlq_total(service: Any) -> int:
    total, _ = await service.queues.list_dead(1, 50)
    return int(total)


async def dlq_settled(service: Any) -> int:
    """DLQ size once every move has finished (a move writes the DLQ entry first, removes the source last)."""
    total = await dlq_total(service)
    if total and await service.queues.main.getFailedCount() == 0:
        return total
    return 0


async def test_job_completes_with_result(service: Any) -> None:
    worker = JobWorker(service.settings, service.queues, service.registry)
    await worker.start()
    try:
        job_id = await service.queues.enqueue("echo", {"x": 1})

        async def done() -> Any:
            view = await service.queues.describe(job_id)
            return view if view["state"] == "completed" else None

        view = await wait_for(done)
        assert view["result"] == {"echo": {"x": 1}, "job": "echo"}
        assert view["attemptsMade"] == 1
        assert await live_workers(service.queues) == 1
    finally:
        await worker.close()
    assert await live_workers(service.queues) == 0


async def test_retries_then_succeeds_without_dlq(service: Any) -> None:
    worker = JobWorker(service.settings, service.queues, service.registry)
    await worker.start()
    try:
        job_id = await service.queues.enqueue("flaky", {"succeed_on": 3})

        async def done() -> Any:
            view = await service.queues.describe(job_id)
            return view if view["state"] == "completed" else None

        view = await wait_for(done)
        assert view["result"] == {"attempt": 3}
        assert await dlq_total(service) == 0
    finally:
        await worker.close()


async def test_final_failure_moves_to_dlq_once_with_every_trace(service: Any) -> None:
    worker = JobWorker(service.settings, service.queues, service.registry)
    await worker.start()
    try:
        job_id = await service.queues.enqueue("boom", {"why": "bad", "reasoning_fix": True}, {"attempts": 2})
        await wait_for(lambda: dlq_settled(service))
        total, dead = await service.queues.list_dead(1, 10)
        assert total == 1
        entry = dead[0]
        assert entry.id == keys.dlq_job_id(service.queues.names.main, job_id)
        assert (entry.name, entry.job_id, entry.queue) == ("boom", job_id, service.queues.names.main)
        assert entry.failed_reason == "boom: bad"
        assert entry.attempts_made == 2
        assert len(entry.stacktrace) == 2 and all("ValueError: boom: bad" in t for t in entry.stacktrace)
        assert entry.opts["attempts"] == 2
        assert entry.data == {"why": "bad", "reasoning_fix": True}
        # Gone from the source queue, but still visible as dead through the job view.
        assert await service.queues.job_state(job_id) is JobStatus.UNKNOWN
        assert (await service.queues.describe(job_id))["state"] == "dead"
        # The caller asked for a fix: a durable request waits on the reasoning queue.
        rid = keys.reasoning_job_id(service.queues.names.main, job_id)
        assert await service.queues.reasoning.getJobState(rid) == "waiting"
    finally:
        await worker.close()


async def test_no_fix_request_unless_asked(service: Any) -> None:
    worker = JobWorker(service.settings, service.queues, service.registry)
    await worker.start()
    try:
        job_id = await service.queues.enqueue("boom", {"reasoning_fix": False}, {"attempts": 1})
        await wait_for(lambda: dlq_settled(service))
        rid = keys.reasoning_job_id(service.queues.names.main, job_id)
        assert await service.queues.reasoning.getJobState(rid) == "unknown"
        # It is still remembered: memory learns from every final failure.
        mid = keys.remember_job_id(service.queues.names.main, job_id)
        assert await service.queues.memory.getJobState(mid) == "waiting"
    finally:
        await worker.close()


async def test_unknown_handler_fails_for_good_at_once(service: Any) -> None:
    worker = JobWorker(service.settings, service.queues, service.registry)
    await worker.start()
    try:
        await service.queues.main.add("nobody-home", {}, {"attempts": 5})
        await wait_for(lambda: dlq_settled(service))
        _, dead = await service.queues.list_dead(1, 10)
        assert dead[0].attempts_made == 1
        assert "unknown handler 'nobody-home'" in dead[0].failed_reason
    finally:
        await worker.close()


async def test_racing_moves_land_once(service: Any) -> None:
    # A bare BullMQ worker fails the job, as a crashed SmartWorker would leave it: in the failed set.
    async def fail(job: Any, token: str) -> None:
        raise RuntimeError("left behind")

    bare = Worker(service.queues.names.main, fail, {"connection": service.queues.redis_url})
    job_id = await service.queues.enqueue("boom", {"reasoning_fix": True}, {"attempts": 1})
    await wait_for(lambda: service.queues.main.getFailedCount())
    await bare.close()

    results = await asyncio.gather(*(service.queues.move_to_dlq(job_id) for _ in range(8)),
                                   service.queues.sweep_failed())
    assert sum(1 for r in results[:8] if r) + results[8] == 1
    assert await dlq_total(service) == 1
    assert await service.queues.main.getFailedCount() == 0
    assert await service.queues.reasoning.getJobCountByTypes("waiting") == 1
    # A later sweep or a repeated event finds nothing more to do.
    assert await service.queues.move_to_dlq(job_id) is False
    assert await service.queues.sweep_failed() == 0


async def test_retry_from_dlq_runs_again_with_fresh_attempts(service: Any) -> None:
    worker = JobWorker(service.settings, service.queues, service.registry)
    await worker.start()
    try:
        await service.queues.enqueue("flaky", {"succeed_on": 3}, {"attempts": 2})
        await wait_for(lambda: dlq_settled(service))
        _, dead = await service.queues.list_dead(1, 10)
        # The retried job starts from zero attempts; it fails twice more, so it lands in the DLQ again
        # under its new id.
        new_id = await service.queues.retry_dead(dead[0].id)
        assert await dlq_total(service) == 0
        view = await service.queues.describe(new_id)
        assert view["attemptsMade"] == 0 and view["attempts"] == 2
        await wait_for(lambda: dlq_settled(service))  # fails again after two fresh attempts
        _, again = await service.queues.list_dead(1, 10)
        assert again[0].job_id == new_id and again[0].attempts_made == 2
    finally:
        await worker.close()


async def test_dlq_remove_clear_and_pages(service: Any) -> None:
    worker = JobWorker(service.settings, service.queues, service.registry)
    await worker.start()
    try:
        for i in range(5):
            await service.queues.enqueue("boom", {"i": i}, {"attempts": 1})
        await wait_for(lambda: _at_least(service, 5))
        total, first = await service.queues.list_dead(1, 2)
        _, third = await service.queues.list_dead(3, 2)
        assert total == 5 and len(first) == 2 and len(third) == 1
        await service.queues.remove_dead(first[0].id)
        assert await dlq_total(service) == 4
        assert await service.queues.clear_dead() == 4
        assert await dlq_total(service) == 0
    finally:
        await worker.close()


async def _at_least(service: Any, n: int) -> bool:
    return await dlq_settled(service) >= n


async def test_graceful_close_finishes_in_flight_job(service: Any) -> None:
    worker = JobWorker(service.settings, service.queues, service.registry)
    await worker.start()
    job_id = await service.queues.enqueue("slow", {"seconds": 1.0})
    await wait_for(lambda: _state_is(service, job_id, "active"))
    await worker.close(timeout=10)
    assert (await service.queues.describe(job_id))["state"] == "completed"


async def _state_is(service: Any, job_id: str, state: str) -> bool:
    return (await service.queues.describe(job_id))["state"] == state


async def test_job_running_at_the_shutdown_deadline_goes_back_to_the_queue(make_settings: Any) -> None:
    from smartworker.service import Service

    settings = make_settings(lock_duration_ms=1000, stalled_interval_ms=500)
    service = await Service.open(settings)
    try:
        first = JobWorker(settings, service.queues, service.registry)
        await first.start()
        job_id = await service.queues.enqueue("slow", {"seconds": 3})
        await wait_for(lambda: _state_is(service, job_id, "active"))
        started = time.monotonic()
        await first.close(timeout=0.2)  # deadline passes: the job is handed back, not failed
        assert time.monotonic() - started < 2.5
        assert (await service.queues.describe(job_id))["state"] == "waiting"  # unlocked, first in line
        second = JobWorker(settings, service.queues, service.registry)
        await second.start()
        try:
            await wait_for(lambda: _state_is(service, job_id, "completed"), timeout=20)
        finally:
            await second.close()
    finally:
        await service.queues.main.obliterate(force=True)
        await service.close()


async def test_batch_move_moves_each_failure_once_with_its_trace(service: Any) -> None:
    """``move_many_to_dlq`` (the failure mover's): the single move's outcome for a whole batch."""
    queues = service.queues

    async def fail(job: Any, token: str) -> None:
        raise RuntimeError(f"order {job.data.get('order')} has no customer")

    bare = Worker(queues.names.main, fail, {"connection": queues.redis_url})
    plain = [await queues.enqueue("boom", {"order": i}, {"attempts": 1}) for i in range(20)]
    asking = await queues.enqueue("boom", {"order": 99, "reasoning_fix": True}, {"attempts": 1})
    reused = await queues.enqueue("boom", {"order": 100}, {"attempts": 1, "jobId": "reused"})
    await wait_for(lambda: _failed_at_least(queues, 22), what="22 failed jobs")
    # A job id a caller reuses: its earlier failure already has the DLQ entry derived from the id.
    assert await queues.move_many_to_dlq([reused]) == 1
    await queues.enqueue("boom", {"order": 101}, {"attempts": 1, "jobId": "reused"})
    await wait_for(lambda: _failed_at_least(queues, 22), what="the reused id failed again")
    await bare.close()
    # A job another producer stored in a shape BullMQ cannot read, and a job that is not failed.
    await queues.redis.hset(queues.main.toKey("unreadable"), mapping={"name": "x", "data": "{}", "opts": "{bad"})
    await queues.redis.zadd(queues.main.keys["failed"], {"unreadable": 1})
    waiting = await queues.enqueue("echo", {}, {"attempts": 1})

    ids = ["unreadable", waiting, *plain, asking, reused]
    moved = await asyncio.gather(queues.move_many_to_dlq(ids), queues.move_many_to_dlq(ids[::-1]),
                                 *(queues.move_to_dlq(i) for i in plain[:5]))
    assert sum(int(m) for m in moved) == 22
    # Each failure once in the DLQ, with its reason and trace; the reused id's second failure under
    # an id of its own; the unreadable job and the waiting one where they were.
    assert await dlq_total(service) == 23
    _, dead = await queues.list_dead(1, 50)
    reasons = {d.failed_reason for d in dead}
    assert {f"order {i} has no customer" for i in (*range(20), 99, 100, 101)} == reasons
    assert all(d.stacktrace and "RuntimeError" in d.stacktrace[-1] for d in dead)
    assert len({d.id for d in dead if d.job_id == "reused"}) == 2
    assert await queues.main.getFailedCount() == 1
    assert await queues.job_state(waiting) is JobStatus.WAITING
    # Every plain failure is remembered once; the one that asked for a fix is a resolution request.
    for job_id in [*plain, "reused"]:
        assert await queues.memory.getJobState(keys.remember_job_id(queues.names.main, job_id)) == "waiting"
    assert await queues.memory.getJobCountByTypes("waiting") == 21
    assert await queues.reasoning.getJobCountByTypes("waiting") == 1
    assert await queues.move_many_to_dlq(ids) == 0


async def _failed_at_least(queues: Any, n: int) -> bool:
    return int(await queues.main.getFailedCount()) >= n


async def test_a_failure_that_cannot_be_removed_is_copied_and_remembered_once(service: Any) -> None:
    """A job scheduler's current job cannot be removed (BullMQ's removeJob answers -8), so it stays
    failed and every look finds it again: its copy, memory entry and fix request happen once."""
    queues = service.queues

    async def fail(job: Any, token: str) -> None:
        raise RuntimeError(f"the {job.data['report']} report has no recipients")

    bare = Worker(queues.names.main, fail, {"connection": queues.redis_url})
    # The ids BullMQ gives schedulers' jobs (ours refuses a caller's id with a colon): one job asks
    # for a fix, the other is only remembered.
    asking = (await queues.main.add("boom", {"report": "nightly", "reasoning_fix": True},
                                    {"attempts": 1, "jobId": "repeat:nightly:1000"})).id
    plain = (await queues.main.add("boom", {"report": "hourly"}, {"attempts": 1, "jobId": "repeat:hourly:1000"})).id
    await wait_for(lambda: _failed_at_least(queues, 2), what="the schedulers' jobs failed")
    await bare.close()
    # What BullMQ keeps for a job scheduler whose current job this is.
    for job_id, scheduler in ((asking, "nightly"), (plain, "hourly")):
        await queues.redis.hset(queues.main.toKey(job_id), "rjk", scheduler)
        await queues.redis.zadd(queues.main.keys["repeat"], {scheduler: 1000})
    offered: list[str] = []

    async def store(dead: list[Any]) -> set[str]:
        offered.extend(d.job_id for d in dead)
        return {d.id for d in dead}

    for _ in range(3):
        assert await queues.move_many_to_dlq([asking, plain], store) == 0  # not removed: not moved
    assert await queues.main.getFailedCount() == 2
    assert await dlq_total(service) == 2
    assert offered == [plain]  # remembered once; the one asking for a fix is stored by its resolution
    assert await queues.reasoning.getJobCountByTypes("waiting") == 1
    # The request finished (a resolution made): a later look must not ask for another one.
    resolver = Worker(queues.names.reasoning, _resolved, {"connection": queues.redis_url})
    await wait_for(lambda: queues.reasoning.getCompletedCount(), what="the resolution finished")
    await resolver.close()
    assert await queues.move_many_to_dlq([asking, plain], store) == 0
    assert await queues.reasoning.getJobCountByTypes("waiting", "active") == 0
    # A crash between the copy and the request left no request at all: the next look makes it, once.
    await queues.reasoning.remove(keys.reasoning_job_id(queues.names.main, asking))
    for _ in range(2):
        assert await queues.move_many_to_dlq([asking, plain], store) == 0
    assert await queues.reasoning.getJobCountByTypes("waiting") == 1
    assert offered == [plain]

    # Once the schedulers have moved on, the next look removes both, without a second copy.
    await queues.redis.zadd(queues.main.keys["repeat"], {"nightly": 2000, "hourly": 2000})
    assert await queues.move_many_to_dlq([asking, plain], store) == 2
    assert await queues.main.getFailedCount() == 0
    assert await dlq_total(service) == 2
    assert offered == [plain]


async def _resolved(job: Any, token: str) -> dict[str, Any]:
    return {"status": "rejected"}
