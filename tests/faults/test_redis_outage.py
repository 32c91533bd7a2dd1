"""Redis stopped and restarted under a running `smartworker up`: fast named 503s, no ghost job, no
lost job, recovery without a restart of SmartWorker."""

from __future__ import annotations

import contextlib
import subprocess
import time
from pathlib import Path

import httpx
import redis
from tests.faults.conftest import OwnRedis, start_smartworker
from tests.waiting import poll

#: Every route that needs Redis, with a body where it takes one.
NEEDS_REDIS = [
    ("POST", "/job", {"name": "echo", "data": {"n": 1}}),
    ("GET", "/jobs/1", None),
    ("GET", "/dlq", None),
    ("POST", "/dlq/x/retry", None),
    ("DELETE", "/dlq", None),
    ("DELETE", "/dlq/x", None),
    ("GET", "/fixes", None),
    ("GET", "/fixes/x", None),
    ("POST", "/dlq/x/fix", None),
    ("GET", "/", None),
    ("GET", "/keys", None),
]


def _jobs(url: str, queue: str) -> int:
    with redis.Redis.from_url(url) as client:
        return sum(int(client.zcard(f"bull:{queue}:{s}")) for s in ("completed", "delayed", "failed")) + sum(
            int(client.llen(f"bull:{queue}:{s}")) for s in ("wait", "active"))


def _completed(url: str, queue: str) -> list[str]:
    with redis.Redis.from_url(url, decode_responses=True) as client:
        return [client.hget(f"bull:{queue}:{job_id}", "data") or ""
                for job_id in client.zrange(f"bull:{queue}:completed", 0, -1)]


def test_redis_down_then_back(own_redis: OwnRedis, procs: list[subprocess.Popen[str]], tmp_path: Path,
                              queue_name: str) -> None:
    _, base = start_smartworker("up", {"REDIS_URL": own_redis.url, "APP_QUEUE_NAME": queue_name,
                                       "APP_DATA_DIR": str(tmp_path / "data")}, procs, tmp_path / "up.log")
    with httpx.Client(base_url=base, timeout=10) as http:
        _outage(http, base, own_redis, queue_name)


def _outage(http: httpx.Client, base: str, own_redis: OwnRedis, queue_name: str) -> None:
    for n in range(20):
        assert http.post("/job", json={"name": "slow", "data": {"seconds": 0.05, "n": n}}).status_code == 201

    own_redis.stop()  # mid-run: some of the 20 jobs are still waiting or running
    slowest = 0.0
    for method, path, body in NEEDS_REDIS:
        started = time.monotonic()
        answer = http.request(method, path, json=body)
        took = time.monotonic() - started
        slowest = max(slowest, took)
        assert answer.status_code == 503, (method, path, answer.status_code, answer.text)
        assert "Redis" in answer.json()["detail"], answer.text
        assert took < 2.0, (method, path, took)
    health = http.get("/health")
    assert health.status_code == 503 and health.json()["redis"] == "down" and "redis" in health.json()["down"]
    # A client that gives up early (0.2 s) must not leave a job to appear once Redis is back.
    with contextlib.suppress(httpx.TimeoutException):
        httpx.post(f"{base}/job", json={"name": "echo", "data": {"ghost": True}}, timeout=0.2)
    time.sleep(1.0)

    own_redis.start()
    back = time.monotonic()
    poll(lambda: http.get("/health").json()["redis"] == "up", timeout=30)
    print(f"redis outage: slowest 503 {slowest * 1000:.0f} ms; "
          f"/health up {time.monotonic() - back:.2f} s after restart")
    created = http.post("/job", json={"name": "echo", "data": {"after": True}})
    assert created.status_code == 201, created.text
    # Every job acknowledged before the outage completes (none lost), plus the one after; no ghost.
    poll(lambda: len(_completed(own_redis.url, queue_name)) == 21, timeout=90)
    assert _jobs(own_redis.url, queue_name) == 21
    assert not any("ghost" in data for data in _completed(own_redis.url, queue_name))
