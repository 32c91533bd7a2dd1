"""Bad input over real Redis: jobs another producer stored with unusable options, out-of-range pages,
bodies over the limit, and asking twice for a fix."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from bullmq import Queue
from tests.integration.test_worker import dlq_settled, wait_for

from smartworker import keys
from smartworker.api.app import create_app
from smartworker.worker import JobWorker


@pytest.fixture
async def other_producer(service: Any) -> AsyncIterator[Queue]:
    """A plain BullMQ producer on the same queue: it checks nothing, as a Node producer would not."""
    queue = Queue(service.queues.names.main, {"connection": service.queues.redis_url,
                                              "prefix": service.settings.queue_prefix})
    yield queue
    await queue.close()


async def test_unusable_stored_options_send_the_job_to_the_dlq(client: httpx.AsyncClient, service: Any,
                                                               other_producer: Queue) -> None:
    job = await other_producer.add("echo", {"n": 1}, {"attempts": "lots"})  # type: ignore[typeddict-item]
    worker = JobWorker(service.settings, service.queues, service.registry)
    await worker.start()
    try:
        await wait_for(lambda: _dead(service, 1), timeout=20)
    finally:
        await worker.close()
    page = (await client.get("/dlq")).json()
    [dead] = page["jobs"]
    assert dead["failedReason"] == "unusable job options: opts.attempts: Input should be a valid integer"
    view = await client.get(f"/jobs/{job.id}")
    assert view.status_code == 200 and view.json()["state"] == "dead" and view.json()["attempts"] is None
    # A retry keeps the options that are usable and drops the rest, so it runs on the defaults.
    retried = await client.post(f"/dlq/{dead['id']}/retry")
    assert retried.status_code == 201
    again = (await client.get(f"/jobs/{retried.json()['id']}")).json()
    assert again["attempts"] == service.settings.job_attempts


async def test_a_job_bullmq_cannot_read_is_described_not_a_500(client: httpx.AsyncClient, service: Any,
                                                               other_producer: Queue) -> None:
    job = await other_producer.add("echo", {"n": 1}, {"delay": 60_000})
    key = f"{service.settings.queue_prefix}:{service.queues.names.main}:{job.id}"
    await service.queues.redis.hset(key, mapping={"delay": "1e+20", "opts": json.dumps({"backoff": -10**30})})
    answer = await client.get(f"/jobs/{job.id}")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["state"] == "delayed" and body["name"] == "echo" and "not readable" in body["problem"]


@pytest.mark.parametrize(("path", "params"), [
    ("/dlq", {"page": "1e23"}), ("/dlq", {"page": str(10**23)}), ("/dlq", {"page": "-1"}),
    ("/dlq", {"size": "100000"}), ("/fixes", {"page": str(10**23)}), ("/failures", {"page": str(10**23)}),
    ("/failures", {"page": "1e23"}), ("/failures", {"size": "0"}), ("/failures/99999999999999999999999", {}),
])
async def test_out_of_range_numbers_are_422(client: httpx.AsyncClient, path: str, params: dict[str, str]) -> None:
    answer = await client.get(path, params=params)
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert set(body) == {"detail", "errors"} and body["errors"][0]["field"].startswith(("query.", "path."))


async def test_bodies_over_the_limit_are_413_and_not_stored(make_settings: Any, service: Any) -> None:
    service.settings = make_settings(max_body_bytes=64 * 1024)
    transport = httpx.ASGITransport(app=create_app(service))
    big = {"name": "echo", "data": {"blob": "x" * 100_000}}
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        declared = await http.post("/job", json=big)
        assert declared.status_code == 413 and "APP_MAX_BODY_BYTES" in declared.json()["detail"]

        async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it arrives
            text = json.dumps(big).encode()
            for start in range(0, len(text), 8192):
                yield text[start:start + 8192]

        streamed = await http.post("/job", content=chunks(), headers={"content-type": "application/json"})
        assert streamed.status_code == 413
        assert (await http.post("/job", json={"name": "echo", "data": {"blob": "x" * 1000}})).status_code == 201
    assert await service.queues.main.getJobCountByTypes("waiting") == 1


async def test_default_limit_takes_the_1_mb_hazard_payload(client: httpx.AsyncClient) -> None:
    answer = await client.post("/job", json={"name": "hazard", "data": {"scenario": "large_payload",
                                                                        "blob": "x" * 1_100_000}})
    assert answer.status_code == 201


async def test_fix_asked_twice_is_409_or_a_new_resolution(client: httpx.AsyncClient, service: Any) -> None:
    worker = JobWorker(service.settings, service.queues, service.registry)
    await worker.start()
    try:
        await client.post("/job", json={"name": "boom", "data": {}, "opts": {"attempts": 1}})
        await wait_for(lambda: _dead(service, 1))
    finally:
        await worker.close()
    [dead] = (await client.get("/dlq")).json()["jobs"]
    first = await client.post(f"/dlq/{dead['id']}/fix")
    assert first.status_code == 202
    # Still queued: asking again is the same request, not a second resolution.
    assert (await client.post(f"/dlq/{dead['id']}/fix")).json() == first.json()
    rid = first.json()["requestId"]
    # Play the reasoning worker: the request finished with a fix record.
    job = await service.queues.reasoning.getJob(rid)
    await service.queues.redis.zadd(f"{service.settings.queue_prefix}:{service.queues.names.reasoning}:completed",
                                    {rid: 1})
    await service.queues.redis.lrem(f"{service.settings.queue_prefix}:{service.queues.names.reasoning}:wait", 0, rid)
    await service.queues.redis.hset(f"{service.settings.queue_prefix}:{service.queues.names.reasoning}:{rid}",
                                    "returnvalue", json.dumps({"fix": "abc123", "status": "fixed"}))
    assert job is not None
    conflict = await client.post(f"/dlq/{dead['id']}/fix")
    assert conflict.status_code == 409
    assert "fix record 'abc123' (fixed)" in conflict.json()["detail"] and "again=true" in conflict.json()["detail"]
    again = await client.post(f"/dlq/{dead['id']}/fix", params={"again": "true"})
    assert again.status_code == 202
    assert await service.queues.reasoning.getJobState(rid) == "waiting"
    assert keys.reasoning_job_id(service.queues.names.main, dead["jobId"]) == rid


async def _dead(service: Any, n: int) -> bool:
    return await dlq_settled(service) == n
