"""The CLI's side of access and input rules: `keys`, option validation like the API's, redaction."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import redis
from tests.e2e.conftest import ROOT, clean_env, free_port
from tests.waiting import poll


def run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "smartworker", *args], env=clean_env(**env), text=True,
                          capture_output=True, timeout=60)


def test_keys_create_list_revoke(redis_url: str, queue_name: str) -> None:
    env = {"REDIS_URL": redis_url, "APP_QUEUE_NAME": queue_name}
    made = run("keys", "create", "--role", "operator", "--name", "ci", **env)
    assert made.returncode == 0, made.stderr
    secret = made.stdout.strip().splitlines()[-1]
    assert secret.startswith("sw_")
    listed = json.loads(run("keys", "list", "--json", **env).stdout)
    assert [(k["name"], k["role"]) for k in listed] == [("ci", "operator")]
    assert secret not in json.dumps(listed)
    stored = redis.Redis.from_url(redis_url).hgetall(f"smartworker:access:{queue_name}:apikeys")
    assert secret.encode() not in b"".join(stored.values())
    assert run("keys", "revoke", listed[0]["id"], **env).returncode == 0
    again = run("keys", "revoke", listed[0]["id"], **env)
    assert again.returncode == 2 and len(again.stderr.strip().splitlines()) == 1 and "no API key" in again.stderr
    assert json.loads(run("keys", "list", "--json", **env).stdout) == []


def test_keys_create_rejects_an_unknown_role() -> None:
    result = run("keys", "create", "--role", "root")
    assert result.returncode == 2 and result.stderr.strip().splitlines() == [
        "smartworker: --role: expected one of viewer, operator, admin, got 'root'"]


@pytest.mark.parametrize(("opts", "field"), [
    ('{"attempts": "lots"}', "opts.attempts"),
    ('{"delay": 1e20}', "opts.delay"),
    ('{"backoff": -5}', "opts.backoff"),
    ('{"attempts": 90, "backoff": {"type": "exponential", "delay": 1000}}', "opts.backoff"),
    ('{"removeOnFail": true}', "opts.removeOnFail"),
])
def test_enqueue_validates_options_like_the_api(opts: str, field: str, redis_url: str, queue_name: str) -> None:
    result = run("enqueue", "login", "--opts", opts, REDIS_URL=redis_url, APP_QUEUE_NAME=queue_name)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1 and lines[0].startswith(f"smartworker: --opts: {field}: ")
    assert redis.Redis.from_url(redis_url).exists(f"bull:{queue_name}:id") == 0  # nothing was enqueued


def test_api_refuses_to_listen_beyond_loopback_without_a_key(redis_url: str, queue_name: str) -> None:
    result = subprocess.run([sys.executable, "-m", "smartworker", "api"], env=clean_env(
        REDIS_URL=redis_url, APP_QUEUE_NAME=queue_name, APP_HOST="0.0.0.0", APP_PORT=str(free_port()),
        APP_EMBEDDED="false"), text=True, capture_output=True, timeout=60)
    assert result.returncode == 2
    assert "smartworker: APP_HOST=0.0.0.0 exposes the API beyond this machine" in result.stderr


def test_dlq_list_is_redacted_unless_raw(redis_url: str, queue_name: str, tmp_path: Path) -> None:
    env = {"REDIS_URL": redis_url, "APP_QUEUE_NAME": queue_name, "APP_ROOT_DIR": str(ROOT / "tests" / "apps"),
           "SMARTWORKER_APP": "testapp", "JOB_ATTEMPTS": "1", "APP_EMBEDDED": "false", "AI_LOCAL_LLM": "false",
           "APP_DATA_DIR": str(tmp_path)}
    secret = "hunter2-very-secret"
    assert run("enqueue", "boom", "--data", json.dumps({"password": secret, "why": f"token={secret}"}),
               **env).returncode == 0
    worker = subprocess.Popen([sys.executable, "-m", "smartworker", "worker"], env=clean_env(**env),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        poll(lambda: json.loads(run("dlq", "list", "--json", **env).stdout)["total"] == 1, timeout=60)
    finally:
        worker.terminate()
        worker.wait(30)
    shown = run("dlq", "list", "--json", **env).stdout
    assert secret not in shown and "[REDACTED]" in shown
    assert secret not in run("dlq", "list", **env).stdout
    raw = json.loads(run("dlq", "list", "--json", "--raw", **env).stdout)
    assert raw["jobs"][0]["data"]["password"] == secret
