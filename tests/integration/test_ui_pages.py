"""The dashboard's pages and forms over HTTP (in-process) against a real Redis and worker: bulk actions
of a filter behind their confirmation, CSRF and origin checks, login and roles, discovery of other
queues, and bad input answered with 4xx pages, never a 5xx."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from bullmq import Queue
from tests.integration.test_worker import dlq_settled, wait_for

from smartworker.api.app import create_app
from smartworker.auth import ApiKeys, Role
from smartworker.keys import access_prefix
from smartworker.reasoning.records import Candidate, FixRecord, FixRecords, FixStatus
from smartworker.ui import dead
from smartworker.worker import JobWorker

CSRF = re.compile(r'name="csrf" (?:value|content)="([^"]+)"')


@pytest.fixture
async def client(service: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(service))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


async def _csrf(client: httpx.AsyncClient, path: str = "/ui/") -> str:
    page = await client.get(path)
    assert page.status_code == 200, page.text
    found = CSRF.search(page.text)
    assert found, "the page carries no CSRF token"
    return found.group(1)


async def _three_dead(service: Any) -> None:
    worker = JobWorker(service.settings, service.queues, service.registry)
    await worker.start()
    try:
        for data in ({"why": "order 1001"}, {"why": "order 2002"}):
            await service.queues.enqueue("boom", data, {"attempts": 1})
        await service.queues.enqueue("flaky", {"succeed_on": 5}, {"attempts": 1})
        await wait_for(lambda: _settled(service), timeout=30)
    finally:
        await worker.close()


async def _settled(service: Any) -> bool:
    return await dlq_settled(service) == 3


async def test_retry_all_of_a_filter_then_clear(service: Any, client: httpx.AsyncClient) -> None:
    user_queue = Queue(f"{service.queues.names.main}-user", {"connection": service.queues.redis_url})
    await user_queue.add("anything", {"k": 1})
    try:
        await _three_dead(service)
        overview = await client.get("/ui/")
        assert overview.status_code == 200 and "anonymous" in overview.text  # the API is open: no key exists
        assert f"{service.queues.names.main}-user" in overview.text  # another queue under the prefix
        token = await _csrf(client)

        _, rows, _ = await dead.page(service.queues, dead.DeadFilter(), 1, 10)
        boom = next(r for r in rows if r.name == "boom")
        listed = await client.get("/ui/dlq", params={"signature": boom.signature_hash})
        assert listed.text.count("data-dlq-id=") == 2
        confirm = await client.get("/ui/dlq-all/retry", params={"signature": boom.signature_hash})
        assert "2 dead jobs matching the filter" in confirm.text

        form = {"signature": boom.signature_hash, "csrf": token}
        refused = await client.post("/ui/dlq-all/retry", data={**form, "csrf": "stale"})
        assert refused.status_code == 403
        cross = await client.post("/ui/dlq-all/retry", data=form, headers={"Origin": "http://elsewhere.example"})
        assert cross.status_code == 403
        assert await dead.total(service.queues) == 3  # nothing happened

        flaky = next(r for r in rows if r.name == "flaky")
        asked = await client.get(f"/ui/dlq/{flaky.id}/fix")
        assert "Fix now?" in asked.text and 'name="again"' in asked.text
        requests = (await service.queues.reasoning.getJobCounts("waiting"))["waiting"]  # resolution requests
        fixing = await client.post(f"/ui/dlq/{flaky.id}/fix", data={"csrf": token})
        assert fixing.status_code == 303 and fixing.headers["location"].endswith("notice=fix-requested")
        assert (await service.queues.reasoning.getJobCounts("waiting"))["waiting"] == requests + 1

        done = await client.post("/ui/dlq-all/retry", data=form)
        assert done.status_code == 303 and done.headers["location"] == "/ui/dlq?notice=retried-all"
        assert await dead.total(service.queues) == 1
        assert await service.queues.main.getWaitingCount() == 2

        cleared = await client.post("/ui/dlq-all/delete", data={"csrf": token})
        assert cleared.status_code == 303 and await dead.total(service.queues) == 0
    finally:
        await user_queue.obliterate(force=True)
        await user_queue.close()


async def test_bad_input_gets_a_page_naming_it(service: Any, client: httpx.AsyncClient) -> None:
    main = service.queues.names.main
    answers = {
        f"/ui/queues/{main}?state=bogus": 400,
        f"/ui/queues/{main}?page=0": 422,
        f"/ui/queues/{main}?size=100000": 422,
        "/ui/queues/no-such-queue": 404,
        "/ui/queues/%2A%3A%2A": 422,
        f"/ui/queues/{main}/jobs/404": 404,
        "/ui/dlq/nope": 404,
        "/ui/dlq/nope/retry": 404,
        "/ui/dlq/nope/explode": 404,
        "/ui/dlq-all/explode": 404,
        "/ui/fixes/nope": 404,
        "/ui/fixes/nope/events": 404,
        "/ui/login?next=https://elsewhere.example/": 200,
        "/ui/static/highlight.css": 200,
        "/ui/static/app.js": 200,
        "/ui/nowhere": 404,
    }
    for path, status in answers.items():
        answer = await client.get(path)
        assert answer.status_code == status, (path, answer.status_code, answer.text[:300])
    page = (await client.get(f"/ui/queues/{main}?state=bogus")).text
    assert "state: expected one of" in page
    login = (await client.get("/ui/login?next=https://elsewhere.example/")).text
    assert 'name="next" value="/ui/"' in login  # no redirect to another site after logging in
    memory = await client.post("/ui/memory", data={"error": "KeyError: 'x'", "csrf": await _csrf(client)})
    assert memory.status_code == 200 and "not running" in memory.text
    empty = await client.post("/ui/memory", data={"error": "", "csrf": await _csrf(client)})
    assert empty.status_code == 422 and "error" in empty.text


async def test_login_roles_and_revocation(service: Any, client: httpx.AsyncClient) -> None:
    store = ApiKeys(service.queues.redis, access_prefix(service.queues.names.main))
    viewer_id, viewer = await store.create(Role.VIEWER, "ann")
    await store.create(Role.ADMIN, "root")  # keeps the API closed after ann's key is revoked
    closed = await client.get("/ui/dlq")
    assert closed.status_code == 303 and closed.headers["location"] == "/ui/login?next=%2Fui%2Fdlq"
    token = await _csrf(client, "/ui/login")
    wrong = await client.post("/ui/login", data={"key": "sw_nope_nope", "csrf": token, "next": "/ui/dlq"})
    assert wrong.status_code == 401
    stale = await client.post("/ui/login", data={"key": viewer, "csrf": "stale"})
    assert stale.status_code == 403
    ok = await client.post("/ui/login", data={"key": viewer, "csrf": token, "next": "/ui/dlq"})
    assert ok.status_code == 303 and ok.headers["location"] == "/ui/dlq"
    page = await client.get("/ui/dlq")
    assert page.status_code == 200 and 'data-role="viewer"' in page.text
    token = CSRF.search(page.text).group(1)  # type: ignore[union-attr]
    refused = await client.post("/ui/dlq-all/delete", data={"csrf": token})
    assert refused.status_code == 403 and "viewer" in refused.text
    assert (await client.get("/dlq")).status_code == 200  # the API takes the session too
    await store.revoke(viewer_id)
    assert (await client.get("/ui/dlq")).status_code == 303  # a revoked key's session ends at once


async def test_a_fix_with_concerns_lists_them_on_its_page_and_in_the_list(service: Any,
                                                                         client: httpx.AsyncClient) -> None:
    def row(name: str, policy: str, outcome: str, reason: str = "") -> dict[str, str]:
        return {"name": name, "policy": policy, "outcome": outcome, "reason": reason}

    turned_down = Candidate(1, gates=[row("dropped call", "inform", "failed", "it drops `.strip()`"),
                                      row("failing data", "veto", "failed", "the job still fails")])
    verified = Candidate(2, gates=[row("dropped call", "inform", "passed"), row("failing data", "veto", "passed"),
                                   row("contract review", "inform", "failed",
                                       "a review says the result breaks the docstring: the user must be the email")],
                         reviewer="strong-32b")
    queue = service.queues.names.main
    flagged = FixRecord(id="flagged-fix", dlq_id="1", queue=queue, job_id="1", job_name="login",
                        status=FixStatus.FIXED, candidates=[turned_down, verified])
    plain = FixRecord(id="plain-fix", dlq_id="2", queue=queue, job_id="2", job_name="login",
                      status=FixStatus.FIXED, candidates=[turned_down, Candidate(2, gates=verified.gates[:2])])
    for record in (flagged, plain):
        await FixRecords(service.queues.redis).save(record)
    page = (await client.get("/ui/fixes/flagged-fix")).text
    concerns = re.search(r'<ul id="fix-concerns">(.*?)</ul>', page, re.S)
    assert concerns is not None
    # Only the verified change's own concerns: the turned-down candidate's dropped call is not one.
    assert "contract review" in concerns.group(1) and "the user must be the email" in concerns.group(1)
    assert "dropped call" not in concerns.group(1)
    assert "reviewed by strong-32b" in page
    assert 'id="fix-concerns"' not in (await client.get("/ui/fixes/plain-fix")).text
    listed = (await client.get("/ui/fixes")).text
    rows = {m.group(1): m.group(2) for m in re.finditer(r"<tr data-fix-id=\"([^\"]+)\"(.*?)</tr>", listed, re.S)}
    assert "1 concern<" in rows["flagged-fix"] and "concern" not in rows["plain-fix"]
