"""API keys and roles over real Redis: each role against each endpoint, open mode, redaction."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from tests.integration.test_worker import dlq_settled, wait_for

from smartworker import keys
from smartworker.api.app import create_app
from smartworker.auth import ApiKeys, Role, access, check_bind
from smartworker.errors import ConfigurationError
from smartworker.worker import JobWorker

#: Minimum role of each route (None: public). A route missing here is still checked: closed to
#: callers without a key (test_every_route_is_closed_without_a_key).
ROUTES: dict[tuple[str, str], Role | None] = {
    ("GET", "/health"): None,
    ("GET", "/openapi.json"): None,
    ("GET", "/"): Role.OPERATOR,
    ("POST", "/job"): Role.OPERATOR,
    ("GET", "/jobs/x1"): Role.VIEWER,
    ("GET", "/dlq"): Role.VIEWER,
    ("POST", "/dlq/x1/retry"): Role.OPERATOR,
    ("DELETE", "/dlq/x1"): Role.ADMIN,
    ("DELETE", "/dlq"): Role.ADMIN,
    ("GET", "/fixes"): Role.VIEWER,
    ("GET", "/fixes/x1"): Role.VIEWER,
    ("POST", "/dlq/x1/fix"): Role.OPERATOR,
    ("POST", "/fixes/x1/approve"): Role.OPERATOR,
    ("POST", "/fixes/x1/reject"): Role.OPERATOR,
    ("POST", "/fixes/x1/deployed"): Role.OPERATOR,
    ("POST", "/fixes/x1/apply"): Role.ADMIN,
    ("POST", "/memory/search"): Role.VIEWER,
    ("GET", "/failures"): Role.VIEWER,
    ("GET", "/failures/1"): Role.VIEWER,
    ("GET", "/keys"): Role.ADMIN,
    ("POST", "/keys"): Role.ADMIN,
    ("DELETE", "/keys/nokey"): Role.ADMIN,
}
BODIES: dict[tuple[str, str], Any] = {
    ("POST", "/job"): {"name": "echo", "data": {}},
    ("POST", "/memory/search"): {"error": "KeyError: 'email'"},
    ("POST", "/keys"): {"role": "viewer", "name": "made-by-test"},
    ("POST", "/fixes/x1/reject"): {"reason": "wrong"},
}


@pytest.fixture
def api_keys(service: Any) -> ApiKeys:
    return ApiKeys(service.queues.redis, keys.access_prefix(service.queues.names.main))


@pytest.fixture
async def secrets_by_role(api_keys: ApiKeys, service: Any) -> AsyncIterator[dict[Role, str]]:
    made = {role: (await api_keys.create(role, f"test-{role}")) for role in Role}
    yield {role: secret for role, (_, secret) in made.items()}
    await service.queues.redis.delete(f"{keys.access_prefix(service.queues.names.main)}:apikeys")


def _bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


async def _call(client: httpx.AsyncClient, method: str, path: str, headers: dict[str, str]) -> httpx.Response:
    return await client.request(method, path, json=BODIES.get((method, path)), headers=headers)


async def test_keys_are_stored_hashed_and_verified(api_keys: ApiKeys, service: Any) -> None:
    key_id, secret = await api_keys.create(Role.OPERATOR, "ci")
    stored = await service.queues.redis.hget(f"{keys.access_prefix(service.queues.names.main)}:apikeys", key_id)
    assert secret not in stored and secret.split("_")[-1] not in stored
    principal = await api_keys.verify(secret)
    assert principal is not None and principal.role is Role.OPERATOR and principal.key_id == key_id
    assert principal.name == "ci"
    assert await api_keys.verify(secret + "x") is None
    assert await api_keys.verify(f"sw_{key_id}_wrong") is None
    assert await api_keys.verify("garbage") is None
    assert [k["id"] for k in await api_keys.list()] == [key_id] and "sha256" not in (await api_keys.list())[0]
    assert await api_keys.any()
    assert await api_keys.revoke(key_id) and not await api_keys.revoke(key_id)
    assert await api_keys.verify(secret) is None and not await api_keys.any()


@pytest.mark.parametrize(("method", "path"), list(ROUTES))
async def test_each_role_against_each_endpoint(client: httpx.AsyncClient, secrets_by_role: dict[Role, str],
                                              method: str, path: str) -> None:
    needed = ROUTES[(method, path)]
    anonymous = await _call(client, method, path, {})
    forged = await _call(client, method, path, _bearer("sw_0000_forged"))
    if needed is None:
        assert anonymous.status_code not in (401, 403)
        return
    assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"] == "Bearer"
    assert forged.status_code == 401
    for role, secret in secrets_by_role.items():
        answer = await _call(client, method, path, _bearer(secret))
        if role >= needed:
            assert answer.status_code not in (401, 403), (role, answer.text)
        else:
            assert answer.status_code == 403, (role, answer.text)
            assert needed.value in answer.json()["detail"]


async def test_every_route_is_closed_without_a_key(client: httpx.AsyncClient,
                                                   secrets_by_role: dict[Role, str]) -> None:
    spec = (await client.get("/openapi.json")).json()
    public = {path for (_, path), role in ROUTES.items() if role is None}
    for path, item in spec["paths"].items():
        for method in item:
            if path in public:
                continue
            concrete = path.replace("{", "").replace("}", "")
            answer = await client.request(method.upper(), concrete, json={})
            assert answer.status_code == 401, (method, path, answer.status_code)


async def test_open_on_loopback_until_a_key_exists(client: httpx.AsyncClient, api_keys: ApiKeys,
                                                   service: Any) -> None:
    assert (await access(service.settings, api_keys)).open
    assert (await client.delete("/dlq")).status_code == 200  # anonymous is the machine's owner
    key_id, secret = await api_keys.create(Role.ADMIN, "first")
    assert not (await access(service.settings, api_keys)).open
    assert (await client.delete("/dlq")).status_code == 401
    assert (await client.delete("/dlq", headers=_bearer(secret))).status_code == 200
    await api_keys.revoke(key_id)
    assert (await client.delete("/dlq")).status_code == 200


async def test_environment_key_is_admin_and_closes_the_api(make_settings: Any, service: Any) -> None:
    settings = make_settings(api_key="a-long-secret-from-the-environment")
    service.settings = settings
    transport = httpx.ASGITransport(app=create_app(service))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        assert (await http.get("/dlq")).status_code == 401
        assert (await http.delete("/dlq", headers=_bearer("a-long-secret-from-the-environment"))).status_code == 200
        assert (await http.get("/dlq", headers=_bearer("a-long-secret-from-the-environmenT"))).status_code == 401


async def test_non_loopback_bind_needs_a_key(make_settings: Any, service: Any, api_keys: ApiKeys) -> None:
    exposed = make_settings(host="0.0.0.0")
    with pytest.raises(ConfigurationError, match=r"APP_HOST=0\.0\.0\.0"):
        await check_bind(exposed, api_keys)
    assert not (await check_bind(make_settings(host="0.0.0.0", api_key="x" * 20), api_keys)).open
    key_id, _ = await api_keys.create(Role.VIEWER, "v")
    try:
        found = await check_bind(exposed, api_keys)
        assert found.keyed and not found.open
    finally:
        await api_keys.revoke(key_id)
    assert (await check_bind(make_settings(host="127.0.0.1"), api_keys)).open


async def test_keys_api_manages_keys(client: httpx.AsyncClient, secrets_by_role: dict[Role, str]) -> None:
    admin = _bearer(secrets_by_role[Role.ADMIN])
    made = await client.post("/keys", json={"role": "operator", "name": "deploy bot"}, headers=admin)
    assert made.status_code == 201
    body = made.json()
    assert body["secret"].startswith("sw_") and body["role"] == "operator"
    listed = (await client.get("/keys", headers=admin)).json()
    assert body["id"] in {k["id"] for k in listed} and all("secret" not in k for k in listed)
    assert (await client.post("/job", json={"name": "echo"}, headers=_bearer(body["secret"]))).status_code == 201
    assert (await client.delete(f"/keys/{body['id']}", headers=admin)).status_code == 200
    assert (await client.post("/job", json={"name": "echo"}, headers=_bearer(body["secret"]))).status_code == 401
    bad = await client.post("/keys", json={"role": "root", "name": "x"}, headers=admin)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "body.role"


async def test_state_changing_routes_take_json_from_their_own_origin(client: httpx.AsyncClient,
                                                                      service: Any) -> None:
    form = await client.post("/job", content=b"name=echo",
                             headers={"content-type": "application/x-www-form-urlencoded"})
    assert form.status_code == 415
    text = await client.post("/job", content=b'{"name": "echo"}', headers={"content-type": "text/plain"})
    assert text.status_code == 415
    cross = await client.post("/dlq/x/retry", headers={"origin": "http://evil.example"})
    assert cross.status_code == 403 and "cross-site" in cross.json()["detail"]
    fetched = await client.post("/dlq/x/retry", headers={"sec-fetch-site": "cross-site"})
    assert fetched.status_code == 403
    same = await client.post("/job", json={"name": "echo"}, headers={"origin": "http://test"})
    assert same.status_code == 201
    assert await service.queues.main.getJobCountByTypes("waiting") == 1


async def test_demo_job_only_in_development(make_settings: Any, service: Any) -> None:
    service.settings = make_settings(node_env="production")
    transport = httpx.ASGITransport(app=create_app(service))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        answer = await http.get("/")
        assert answer.status_code == 404 and "development" in answer.json()["detail"]
    assert await service.queues.main.getJobCountByTypes("waiting") == 0


SECRET_DATA = {"email": "a@b.c", "password": "hunter2-very-secret", "api_token": "tok_live_abcdef123456"}


async def test_answers_are_redacted_for_everyone_but_an_admin_who_asks(
        client: httpx.AsyncClient, service: Any, secrets_by_role: dict[Role, str]) -> None:
    worker = JobWorker(service.settings, service.queues, service.registry)
    await worker.start()
    try:
        created = await client.post("/job", json={"name": "boom", "data": SECRET_DATA, "opts": {"attempts": 1}},
                                    headers=_bearer(secrets_by_role[Role.OPERATOR]))
        job_id = created.json()["id"]
        await wait_for(lambda: _dead(service))
    finally:
        await worker.close()
    for role in (Role.VIEWER, Role.OPERATOR, Role.ADMIN):
        headers = _bearer(secrets_by_role[role])
        for path in (f"/jobs/{job_id}", "/dlq"):
            text = (await client.get(path, headers=headers)).text
            assert "hunter2-very-secret" not in text and "tok_live_abcdef123456" not in text, (role, path)
            assert "a@b.c" in text  # not a secret: stays readable
        assert (await client.get("/dlq", params={"raw": "true"}, headers=headers)).status_code == (
            200 if role is Role.ADMIN else 403)
    raw = (await client.get(f"/jobs/{job_id}", params={"raw": "true"},
                            headers=_bearer(secrets_by_role[Role.ADMIN]))).json()
    assert raw["data"]["password"] == "hunter2-very-secret"


async def _dead(service: Any) -> bool:
    return await dlq_settled(service) == 1
