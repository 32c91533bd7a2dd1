"""``smartworker up`` as a user runs it: embedded Redis, HTTP API and workers in one process."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import httpx
import redis
from tests.e2e.conftest import clean_env, finish, free_port, smartworker, wait_http
from tests.waiting import poll


def wait_active(redis_url: str, queue: str, timeout: float = 30) -> None:
    """Block until a worker holds a job of ``queue`` (BullMQ's active list)."""
    client = redis.Redis.from_url(redis_url)
    try:
        poll(lambda: client.llen(f"bull:{queue}:active") > 0, timeout=timeout)
    finally:
        client.close()


def test_up_end_to_end(tmp_path: Path, data_dir: Path, stop_all: list[subprocess.Popen[str]]) -> None:
    port = free_port()
    env = clean_env(APP_PORT=str(port), APP_DATA_DIR=str(data_dir), HAZARD_TESTING="true",
                    JOB_BACKOFF_MS="10", NODE_ENV="production", APP_EMBEDDED="true")
    proc = smartworker("up", env=env, cwd=tmp_path)
    stop_all.append(proc)
    base = f"http://127.0.0.1:{port}"
    wait_http(base + "/health", proc)
    # Embedded Redis lives under the data directory.
    assert (data_dir / "redis" / "redis.sock").exists()

    health = poll(lambda: (r := httpx.get(base + "/health")).status_code == 200 and r.json())
    assert health["redis"] == "up" and health["workers"] >= 1

    created = httpx.post(base + "/job", json={"name": "hazard", "data": {"scenario": "division_by_zero",
                                                                           "total": 10, "count": 0}})
    assert created.status_code == 201
    job_id = created.json()["id"]

    page = poll(lambda: (p := httpx.get(base + "/dlq").json())["total"] == 1 and p)
    dead = page["jobs"][0]
    assert dead["jobId"] == job_id and dead["attemptsMade"] == 3
    assert "ZeroDivisionError" in dead["stacktrace"][-1]
    assert httpx.get(f"{base}/jobs/{job_id}").json()["state"] == "dead"

    retried = httpx.post(f"{base}/dlq/{dead['id']}/retry")
    assert retried.status_code == 201
    again = poll(lambda: (p := httpx.get(base + "/dlq").json())["total"] == 1 and p["jobs"][0]["jobId"] != job_id
                 and p)
    assert again["jobs"][0]["jobId"] == retried.json()["id"]
    assert httpx.delete(f"{base}/dlq/{again['jobs'][0]['id']}").status_code == 200
    assert httpx.get(base + "/dlq").json()["total"] == 0

    proc.send_signal(signal.SIGTERM)
    out = finish(proc, timeout=30)  # on a hang, fails with the output: its step timings say where
    stopped = next(json.loads(line) for line in out.splitlines() if '"event": "stopped"' in line)
    assert stopped["failed"] == []  # JSON logs in production, and every shutdown step finished
    assert {"http", "JobWorker", "memory", "queues", "embedded redis"} <= set(stopped["seconds"])
    assert not (data_dir / "redis" / "redis.sock").exists()


def test_sigkill_mid_job_loses_nothing(tmp_path: Path, redis_url: str, queue_name: str,
                                       stop_all: list[subprocess.Popen[str]]) -> None:
    marker = tmp_path / "done.txt"
    env = clean_env(REDIS_URL=redis_url, APP_QUEUE_NAME=queue_name, SMARTWORKER_APP="testapp",
                    APP_ROOT_DIR=str(Path(__file__).resolve().parents[1] / "apps"),
                    WORKER_LOCK_DURATION_MS="1000", WORKER_STALLED_INTERVAL_MS="500")
    first = smartworker("worker", env=env, cwd=tmp_path)
    stop_all.append(first)
    enqueue = subprocess.run(
        [*first.args[:3], "enqueue", "slow", "--data", f'{{"seconds": 2, "marker": "{marker}"}}'],  # type: ignore[misc]
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=30, check=True)
    job_id = enqueue.stdout.strip()
    assert job_id

    def state() -> str:
        out = subprocess.run([*first.args[:3], "dlq", "list", "--json"], env=env, cwd=tmp_path,  # type: ignore[misc]
                             capture_output=True, text=True, timeout=30)
        return out.stdout

    wait_active(redis_url, queue_name)
    first.send_signal(signal.SIGKILL)
    first.wait()
    assert not marker.exists()
    second = smartworker("worker", env=env, cwd=tmp_path)
    stop_all.append(second)
    # The handler opens the file, then writes its line: wait for the line, not for the file.
    poll(lambda: marker.exists() and marker.read_text().endswith("\n"), timeout=30)
    assert len(marker.read_text().splitlines()) == 1
    assert '"total": 0' in state()
    second.send_signal(signal.SIGTERM)
    finish(second)


def test_sigterm_lets_the_running_job_finish(tmp_path: Path, redis_url: str, queue_name: str,
                                             stop_all: list[subprocess.Popen[str]]) -> None:
    marker = tmp_path / "done.txt"
    env = clean_env(REDIS_URL=redis_url, APP_QUEUE_NAME=queue_name, SMARTWORKER_APP="testapp",
                    APP_ROOT_DIR=str(Path(__file__).resolve().parents[1] / "apps"))
    worker = smartworker("worker", env=env, cwd=tmp_path)
    stop_all.append(worker)
    subprocess.run([*worker.args[:3], "enqueue", "slow", "--data",  # type: ignore[misc]
                    f'{{"seconds": 1.5, "marker": "{marker}"}}'], env=env, cwd=tmp_path, check=True,
                   capture_output=True, timeout=30)
    wait_active(redis_url, queue_name)
    worker.send_signal(signal.SIGTERM)
    out = finish(worker)
    assert "shutting down" in out and "worker stopped" in out
    assert marker.exists()
