"""Shared fixtures: real services, started or found once per session.

Locally a missing service skips its tests with the reason; under CI=true it fails them, so a green
CI always means the integration tests really ran.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import redis

from smartworker.config import Settings, load_settings

ROOT = Path(__file__).resolve().parents[1]
TEST_APPS = ROOT / "tests" / "apps"
IN_CI = os.environ.get("CI", "").lower() == "true"


def require(ok: bool, reason: str) -> None:
    """Skip (locally) or fail (under CI=true) when a real service is missing."""
    if ok:
        return
    if IN_CI:
        pytest.fail(f"required under CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def redis_url() -> str:
    """A real Redis (REDIS_URL, else the local server on 6379)."""
    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    try:
        ok = bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except redis.RedisError:
        ok = False
    require(ok, f"no Redis at {url} (start redis-server or set TEST_REDIS_URL)")
    return url


@pytest.fixture
def queue_name() -> str:
    """A queue name no other test uses."""
    return f"t{uuid.uuid4().hex[:10]}"


@pytest.fixture
def make_settings(redis_url: str, queue_name: str, tmp_path: Path) -> Callable[..., Settings]:
    """Settings on the real Redis with an isolated queue; keyword overrides win."""

    def make(**overrides: Any) -> Settings:
        base: dict[str, Any] = {
            "redis_url": redis_url,
            "queue_name": queue_name,
            "data_dir": tmp_path / "data",
            "root_dir": TEST_APPS,
            "app_module": "testapp",
            "job_backoff_ms": 10,
            "hazard_testing": True,
            "shutdown_timeout_s": 5.0,
            # As in CI, whose venv has no local model: a test asks for an LLM (the scripted server) itself.
            "ai_local_llm": False,
        }
        base.update(overrides)
        return load_settings(**base)

    return make


@pytest.fixture
async def service(make_settings: Callable[..., Settings]) -> AsyncIterator[Any]:
    """An open Service (queues + handlers, demo and test apps) on an isolated queue."""
    from smartworker.config import DEMO_APP_MODULE, DEMO_APP_ROOT
    from smartworker.jobs import load_app
    from smartworker.service import Service

    load_app(DEMO_APP_MODULE, DEMO_APP_ROOT)
    svc = await Service.open(make_settings())
    try:
        yield svc
    finally:
        for queue in (svc.queues.main, svc.queues.dlq, svc.queues.reasoning, svc.queues.sandbox, svc.queues.memory):
            await queue.obliterate(force=True)
        await svc.close()
