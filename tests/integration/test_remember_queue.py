"""Remembering failures has its own queue and worker: a storm of them never delays a resolution."""

from __future__ import annotations

import asyncio
from typing import Any, cast

from smartworker import keys
from smartworker.memory.intake import RememberWorker
from smartworker.memory.store import MemoryStore
from smartworker.queues import now_ms
from smartworker.reasoning.consumer import ReasoningWorker

STORM = 500


def _dead_record(queue: str, job_id: str, i: int) -> dict[str, Any]:
    """A DLQ entry as ``Queues.move_to_dlq`` writes it; every failure is a different one."""
    tb = ("Traceback (most recent call last):\n"
          f'  File "/srv/app/orders.py", line {10 + i}, in price_{i}\n'
          f"    extra = record['field_{i}']\n"
          f"KeyError: 'field_{i}'")
    return {
        "job": {"id": job_id, "name": f"price_{i % 7}", "data": {"order": i}, "opts": {"attempts": 1},
                "queue": queue, "timestamp": now_ms()},
        "failure": {"failedReason": f"'field_{i}'", "stacktrace": [tb], "attemptsMade": 1,
                    "processedOn": now_ms(), "finishedOn": now_ms()},
        "movedOn": now_ms(),
    }


async def _add_dead(service: Any, i: int) -> str:
    queues = service.queues
    job_id = f"storm{i}"
    dlq_id = keys.dlq_job_id(queues.names.main, job_id)
    await queues.dlq.add(f"price_{i % 7}", _dead_record(queues.names.main, job_id, i),
                         cast(Any, {"jobId": dlq_id, "attempts": 1}))
    return dlq_id


async def test_a_resolution_starts_while_500_remembers_are_queued(service: Any, store: MemoryStore) -> None:
    service.memory = store
    queues = service.queues
    for i in range(STORM):
        dlq_id = await _add_dead(service, i)
        await queues.memory.add("remember", {"dlqId": dlq_id},
                                cast(Any, {"jobId": keys.remember_job_id(queues.names.main, f"storm{i}")}))
    # The resolution is asked for after the storm, as it is when its job fails last.
    fix_dlq = await _add_dead(service, STORM)
    rid = await queues.request_fix(fix_dlq)
    assert await queues.memory.getJobCountByTypes("waiting") == STORM
    assert await queues.reasoning.getJobCountByTypes("waiting") == 1  # no remember job waits there

    parts = [RememberWorker(service.settings, queues, store), ReasoningWorker(service.settings, queues,
                                                                             service.resolver())]
    for part in parts:
        await part.start()
    try:
        async with asyncio.timeout(60):
            while await queues.reasoning.getJobState(rid) == "waiting":
                await asyncio.sleep(0.02)
        # The resolution began with most of the storm still queued behind it on the other queue.
        assert await queues.memory.getJobCountByTypes("waiting") >= STORM // 2
        async with asyncio.timeout(60):  # and the storm is being stored meanwhile
            while (await store.list_failures())[0] < 2:
                await asyncio.sleep(0.05)
    finally:
        for part in parts:
            await part.hurry()
            await part.close()
        await queues.memory.obliterate(force=True)


async def test_the_dlq_move_counts_repeats_itself_and_queues_the_rest(service: Any, store: MemoryStore) -> None:
    """The failure mover's hook (``Intake.remember_repeats``): a storm's repeats of a stored failure
    are counted by the move, with no ``remember`` job each; new failures, and every failure while
    the memory is away, go through the memory queue."""
    from bullmq import Worker

    from smartworker.memory.intake import Intake
    from smartworker.queues import DeadJob

    queues = service.queues

    async def fail(job: Any, token: str) -> None:
        raise ValueError(f"order {job.data['order']} has no customer")  # one bug: the same place each time

    bare = Worker(queues.names.main, fail, {"connection": queues.redis_url})
    ids = [await queues.enqueue("price", {"order": i}, {"attempts": 1}) for i in range(36)]
    async with asyncio.timeout(30):
        while await queues.main.getFailedCount() < len(ids):
            await asyncio.sleep(0.05)
    await bare.close()

    intake = Intake(store, service.settings)
    # Not seen before: the move queues it, and the memory worker's full intake stores it.
    assert await queues.move_many_to_dlq(ids[:1], store=intake.remember_repeats) == 1
    assert await queues.memory.getJobCountByTypes("waiting") == 1
    first = await queues.dead_job(keys.dlq_job_id(queues.names.main, ids[0]))
    assert first is not None
    failure_id = await intake.remember(first)
    # Its repeats: counted by the move on the same row, no job queued.
    assert await queues.move_many_to_dlq(ids[1:30], store=intake.remember_repeats) == 29
    assert await queues.memory.getJobCountByTypes("waiting") == 1
    row = await store.get_failure(failure_id)
    assert row.occurrences == 30 and ids[29] in row.sample_job_ids

    async def away(deads: list[DeadJob]) -> set[str]:
        raise ConnectionError("memory database unreachable")

    # The memory away: nothing is lost, each failure is queued for the memory worker.
    assert await queues.move_many_to_dlq(ids[30:], store=away) == 6
    assert await queues.memory.getJobCountByTypes("waiting") == 7
    assert await queues.main.getFailedCount() == 0
    total, _ = await queues.list_dead(1, 1)
    assert total == 36
    await queues.memory.obliterate(force=True)
