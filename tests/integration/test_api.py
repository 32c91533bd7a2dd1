"""The HTTP API over real Redis, through httpx's ASGI transport."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from tests.integration.test_worker import dlq_settled, dlq_total, wait_for

from smartworker.worker import JobWorker


async def test_openapi_and_docs(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    assert {"/job", "/jobs/{job_id}", "/health", "/dlq", "/dlq/{dlq_id}/retry"} <= set(spec["paths"])
    docs = await client.get("/docs")
    assert docs.status_code == 200 and "swagger-ui" in docs.text


async def test_post_job_and_read_it(client: httpx.AsyncClient, service: Any) -> None:
    answer = await client.post("/job", json={"name": "echo", "data": {"a": 1}, "opts": {"attempts": 5}})
    assert answer.status_code == 201
    body = answer.json()
    assert body["queue"] == service.queues.names.main
    view = (await client.get(f"/jobs/{body['id']}")).json()
    assert view["state"] == "waiting" and view["attempts"] == 5 and view["data"] == {"a": 1}


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"data": {}}, "body.name"),
        ({"name": "echo", "data": [1, 2]}, "body.data"),
        ({"name": "echo", "opts": {"attempts": 0}}, "body.opts.attempts"),
        ({"name": "echo", "opts": {"jobId": "12"}}, "body.opts.jobId"),
        ({"name": "echo", "opts": {"jobId": "a:b"}}, "body.opts.jobId"),
        ({"name": "", "data": {}}, "body.name"),
        ({"name": "echo", "opts": {"attempts": "lots"}}, "body.opts.attempts"),
        ({"name": "echo", "opts": {"delay": 1e20}}, "body.opts.delay"),
        ({"name": "echo", "opts": {"delay": 10**20}}, "body.opts.delay"),
        ({"name": "echo", "opts": {"backoff": -5}}, "body.opts.backoff"),
        ({"name": "echo", "opts": {"backoff": -(10**30)}}, "body.opts.backoff"),
        ({"name": "echo", "opts": {"backoff": {"type": "exponential", "delay": 10**15}}}, "body.opts.backoff.delay"),
        ({"name": "echo", "opts": {"backoff": {"type": "weird", "delay": 5}}}, "body.opts.backoff.type"),
        ({"name": "echo", "opts": {"attempts": 60, "backoff": {"type": "exponential", "delay": 1000}}},
         "body.opts.backoff"),
        ({"name": "echo", "opts": {"priority": -1}}, "body.opts.priority"),
        ({"name": "echo", "opts": {"removeOnComplete": -1}}, "body.opts.removeOnComplete"),
        ({"name": "echo", "opts": {"removeOnFail": True}}, "body.opts.removeOnFail"),
    ],
)
async def test_bad_bodies_name_the_field(client: httpx.AsyncClient, payload: dict[str, Any], field: str,
                                         service: Any) -> None:
    answer = await client.post("/job", json=payload)
    assert answer.status_code == 422
    body = answer.json()
    assert body["detail"].startswith(field + ":"), body
    assert body["errors"][0]["field"] == field and set(body) == {"detail", "errors"}
    assert await service.queues.main.getJobCountByTypes("waiting", "delayed", "prioritized") == 0


async def test_default_attempts_bound_the_backoff_too(make_settings: Any, client: httpx.AsyncClient,
                                                      service: Any) -> None:
    """The schedule check sees the defaults merged in: a huge exponential delay alone is refused."""
    answer = await client.post("/job", json={"name": "echo", "opts": {"backoff": {"type": "exponential",
                                                                                  "delay": 2**31 - 1}}})
    assert answer.status_code == 422 and answer.json()["errors"][0]["field"] == "body.opts.backoff"


async def test_caller_job_id_makes_enqueue_idempotent(client: httpx.AsyncClient, service: Any) -> None:
    first = await client.post("/job", json={"name": "echo", "opts": {"jobId": "order-7"}})
    again = await client.post("/job", json={"name": "echo", "opts": {"jobId": "order-7"}})
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"] == "order-7"
    assert await service.queues.main.getJobCountByTypes("waiting") == 1


async def test_malformed_json_is_422(client: httpx.AsyncClient) -> None:
    answer = await client.post("/job", content=b"{not json", headers={"content-type": "application/json"})
    assert answer.status_code == 422
    assert answer.json()["detail"].startswith("body")


async def test_unknown_handler_is_400(client: httpx.AsyncClient, service: Any) -> None:
    answer = await client.post("/job", json={"name": "nope", "data": {}})
    assert answer.status_code == 400
    assert "unknown handler 'nope'" in answer.json()["detail"]
    assert await service.queues.main.getJobCountByTypes("waiting") == 0


async def test_missing_job_is_404(client: httpx.AsyncClient) -> None:
    answer = await client.get("/jobs/does-not-exist")
    assert answer.status_code == 404 and "does-not-exist" in answer.json()["detail"]


async def test_demo_job_fails_and_asks_for_fix(client: httpx.AsyncClient, service: Any) -> None:
    worker = JobWorker(service.settings, service.queues, service.registry)
    await worker.start()
    try:
        answer = await client.get("/")
        assert answer.status_code == 201
        await wait_for(lambda: dlq_settled(service), timeout=20)
        page = (await client.get("/dlq", params={"page": 1, "size": 5})).json()
        assert page["total"] == 1 and page["page"] == 1 and page["size"] == 5
        dead = page["jobs"][0]
        assert dead["name"] == "login" and "TypeError" in dead["stacktrace"][-1]
        assert await service.queues.reasoning.getJobCountByTypes("waiting") == 1
        view = (await client.get(f"/jobs/{answer.json()['id']}")).json()
        assert view["state"] == "dead" and view["dlqId"] == dead["id"]
    finally:
        await worker.close()


async def test_dlq_routes(client: httpx.AsyncClient, service: Any) -> None:
    worker = JobWorker(service.settings, service.queues, service.registry)
    await worker.start()
    try:
        for _ in range(3):
            await client.post("/job", json={"name": "boom", "data": {}, "opts": {"attempts": 1}})
        await wait_for(lambda: _count_is(service, 3))
        jobs = (await client.get("/dlq")).json()["jobs"]
        retried = await client.post(f"/dlq/{jobs[0]['id']}/retry")
        assert retried.status_code == 201
        assert (await client.post("/dlq/unknown/retry")).status_code == 404
        assert (await client.delete(f"/dlq/{jobs[1]['id']}")).status_code == 200
        assert (await client.delete("/dlq/unknown")).status_code == 404
        await wait_for(lambda: _count_is(service, 2))  # the retried one failed again
        assert (await client.delete("/dlq")).json() == {"detail": "removed 2 jobs"}
        assert (await client.get("/dlq")).json()["total"] == 0
        assert (await client.get("/dlq", params={"size": 0})).status_code == 422
    finally:
        await worker.close()


async def _count_is(service: Any, n: int) -> bool:
    return await dlq_total(service) == n


async def test_health_reports_workers(client: httpx.AsyncClient, service: Any) -> None:
    down = await client.get("/health")
    assert down.status_code == 503 and down.json()["down"] == ["workers"]
    worker = JobWorker(service.settings, service.queues, service.registry)
    await worker.start()
    try:
        await wait_for(lambda: _healthy(client))
        body = (await client.get("/health")).json()
        assert body == {"status": "ok", "redis": "up", "database": "not configured", "workers": 1,
                        "llm": "not configured", "down": [], "sandbox": "up"}
    finally:
        await worker.close()


async def _healthy(client: httpx.AsyncClient) -> bool:
    return (await client.get("/health")).status_code == 200


async def test_health_says_loading_while_this_process_brings_its_model_up(client: httpx.AsyncClient,
                                                                          service: Any) -> None:
    """`up` assembles the bundled model before its server listens: /health says "loading" then, not
    "down" (the ready banner says the model is loading at the same moment)."""
    import asyncio

    from smartworker.service import LLMEndpoint

    assembled = asyncio.Event()

    async def bring_up() -> float:
        await assembled.wait()
        raise RuntimeError("the model server exited")

    worker = JobWorker(service.settings, service.queues, service.registry)
    await worker.start()
    service.llm = LLMEndpoint("http://127.0.0.1:9", asyncio.create_task(bring_up()))
    try:
        await wait_for(lambda: _healthy(client))
        body = (await client.get("/health")).json()
        assert (body["status"], body["llm"]) == ("ok", "loading")
        assembled.set()
        await asyncio.gather(service.llm.ready, return_exceptions=True)
        # Once this process is done bringing it up, the state is what the server (or its absence) says.
        assert (await client.get("/health")).json()["llm"] != "loading"
    finally:
        service.llm = None
        await worker.close()
