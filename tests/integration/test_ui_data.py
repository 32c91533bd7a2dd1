"""The dashboard's readers against a real Redis and a real worker: BullMQ's per-minute metrics, counts,
pages, search, one job with every attempt's trace, the dead-letter list, and the session signer."""

from __future__ import annotations

import time
from typing import Any

from tests.integration.test_worker import dlq_settled, wait_for

from smartworker.queues import now_ms
from smartworker.ui import dead, jobs, metrics
from smartworker.ui.session import Signer
from smartworker.worker import JobWorker


async def test_worker_metrics_feed_the_last_hour(service: Any) -> None:
    worker = JobWorker(service.settings, service.queues, service.registry)
    await worker.start()
    try:
        for i in range(7):
            await service.queues.enqueue("echo", {"i": i})
        await service.queues.enqueue("boom", {"why": "x"}, {"attempts": 1})
        prefix, main = service.settings.queue_prefix, service.queues.names.main

        async def counted() -> Any:
            series = await metrics.last_hour(service.queues.redis, prefix, main, now_ms())
            return series if series.totals == (7, 1) else None

        series = await wait_for(counted)
        assert series.completed[-1] + series.completed[-2] == 7  # this minute (or the one before)
        # The failure is counted when the job fails; its move to the DLQ follows a moment later.
        await wait_for(lambda: _dead_once(service))
    finally:
        await worker.close()


async def _dead_once(service: Any) -> bool:
    return await dlq_settled(service) == 1


async def test_pages_search_and_one_job(service: Any) -> None:
    queues = service.queues
    redis, prefix, main = queues.redis, service.settings.queue_prefix, queues.names.main
    ids = [await queues.enqueue("echo", {"n": i, "email": f"u{i}@example.com", "password": "Sup3rSecret-1"})
           for i in range(12)]
    counted = (await jobs.counts(redis, prefix, [main]))[main]
    assert counted["waiting"] == 12 and counted["completed"] == 0

    first = await jobs.page(redis, prefix, main, "waiting", 1, 5)
    assert first.total == 12 and first.pages == 3
    assert [j.id for j in first.jobs] == list(reversed(ids))[:5]  # newest first
    assert all("Sup3rSecret" not in j.data_preview for j in first.jobs)
    last = await jobs.page(redis, prefix, main, "waiting", 3, 5)
    assert [j.id for j in last.jobs] == list(reversed(ids))[10:]

    found = await jobs.search(redis, prefix, main, "waiting", "u7@example", 1, 20)
    assert [j.id for j in found.jobs] == [ids[7]] and found.exhaustive and found.scanned == 12
    assert (await jobs.search(redis, prefix, main, "waiting", ids[3], 1, 20)).total >= 1
    assert (await jobs.search(redis, prefix, main, "waiting", "Sup3rSecret", 1, 20)).total == 0

    job = await jobs.detail(redis, prefix, main, ids[0])
    assert job is not None and job.state == "waiting" and job.name == "echo"
    assert job.data["password"] == "[REDACTED]" and job.data["email"] == "u0@example.com"
    assert await jobs.detail(redis, prefix, main, "nope") is None

    directory = jobs.QueueDirectory(redis, prefix, queues.names.all)
    assert await directory.exists(main) and not await directory.exists("no such queue*")


async def test_every_attempts_trace_and_the_dead_letter_list(service: Any) -> None:
    worker = JobWorker(service.settings, service.queues, service.registry)
    await worker.start()
    try:
        await service.queues.enqueue("boom", {"why": "order 1001"}, {"attempts": 3})
        await service.queues.enqueue("boom", {"why": "order 2002", "token": "ghp_" + "a1B2" * 9}, {"attempts": 1})
        await service.queues.enqueue("flaky", {"succeed_on": 9}, {"attempts": 2})
        await wait_for(lambda: _settled(service, 3), timeout=30)
    finally:
        await worker.close()
    total, rows, _ = await dead.page(service.queues, dead.DeadFilter(), 1, 10)
    assert total == 3
    boom = [r for r in rows if r.name == "boom"]
    assert len({r.signature_hash for r in boom}) == 1  # one bug, whatever the data said
    assert all("ghp_" not in r.data_preview for r in rows)
    grouped, read = await dead.groups(service.queues)
    assert read == 3 and sorted(g.count for g in grouped) == [1, 2]
    by_signature = await dead.page(service.queues, dead.DeadFilter(signature=boom[0].signature_hash), 1, 10)
    assert by_signature[0] == 2
    by_text = await dead.page(service.queues, dead.DeadFilter(text="succeed_on"), 1, 10)
    assert [r.name for r in by_text[1]] == ["flaky"]

    three = next(r for r in boom if r.attempts_made == 3)
    found = await service.queues.dead_job(three.id)
    assert len(found.stacktrace) == 3  # every attempt's trace is kept and shown


async def _settled(service: Any, count: int) -> bool:
    return await dlq_settled(service) == count


async def test_session_cookies_cannot_be_forged_or_outlive_their_time(service: Any) -> None:
    signer = Signer(service.queues.redis)
    session, cookie = await signer.issue("key1")
    read = await signer.read(cookie)
    assert read == session
    # Another process sharing the Redis accepts it (one secret), and a forged body is refused.
    assert await Signer(service.queues.redis).read(cookie) == session
    body, mac = cookie.split(".")
    forged = body[:-2] + ("AA" if body[-2:] != "AA" else "BB")
    assert await signer.read(f"{forged}.{mac}") is None
    assert await signer.read("garbage") is None and await signer.read(None) is None
    _, expired = await signer.issue("key1", lifetime_s=-1)
    assert await signer.read(expired) is None
    token = await signer.csrf(session)
    assert await signer.check_csrf(session, token)
    other, _ = await signer.issue("key1")
    assert not await signer.check_csrf(other, token) and not await signer.check_csrf(session, None)
    assert session.expires > time.time()
