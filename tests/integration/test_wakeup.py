"""WakeupMixin against a real Redis: a delayed job on an idle queue starts on time even when the
client handed to the worker reads with a socket timeout shorter than the wait, that client keeps its
own settings, and the mixin composes with another Worker subclass."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import redis.asyncio as aioredis
from bullmq import Queue, Worker
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from smartworker.wakeup import WakeupMixin


class CountingWorker(Worker):  # type: ignore[misc]  # bullmq ships no type information
    """Another team's kind of Worker subclass: it counts its idle waits."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.waits = 0
        super().__init__(*args, **kwargs)

    async def waitForJob(self) -> int:
        self.waits += 1
        return int(await super().waitForJob())


class Composed(WakeupMixin, CountingWorker):
    """Both behaviours in one worker."""


async def test_delayed_job_on_an_idle_queue_starts_on_time_through_a_short_timeout_client(
        redis_url: str, queue_name: str) -> None:
    # The client SmartWorker's producers use: a 1 s read timeout and no retry (queues.py).
    client = aioredis.from_url(redis_url, decode_responses=True, socket_timeout=1.0, retry=Retry(NoBackoff(), 0))
    started: dict[str, float] = {}

    async def process(job: Any, token: str) -> None:
        started[str(job.id)] = time.time()

    worker = Composed(queue_name, process, {"connection": client})
    queue = Queue(queue_name, {"connection": redis_url})
    try:
        await asyncio.sleep(1.5)  # idle: the worker waits on the marker
        job = await queue.add("probe", {}, {"delay": 3000})  # a wait three times the client's timeout
        due = (job.timestamp + 3000) / 1000
        deadline = time.monotonic() + 15
        while str(job.id) not in started and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        assert str(job.id) in started, "the delayed job did not start"
        late = started[str(job.id)] - due
        assert 0 <= late <= 1.0, late
        assert worker.waits > 0  # the other subclass's override ran too
        assert client.connection_pool.connection_kwargs["socket_timeout"] == 1.0
        assert worker.bclient is not client
    finally:
        await worker.close()
        await queue.obliterate({"force": True})
        await queue.close()
