"""The whole repair loop as a user runs it: ``smartworker up`` on embedded Redis and PostgreSQL, an
OpenAI-compatible server with scripted replies, and a real SMTP server."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path
from typing import Any

import httpx
from tests.e2e.conftest import clean_env, free_port, smartworker, wait_http
from tests.fakes import smtp_server
from tests.fakes.openai_server import ScriptedLLM, reply_files
from tests.waiting import poll

from smartworker.config import DEMO_APP_ROOT

REMEMBER = (DEMO_APP_ROOT / "swdemo" / "remember.py").read_text()
GOOD_REMEMBER = REMEMBER.replace('"device:" + account["id"] + ":" + kind', 'f"device:{account[\'id\']}:{kind}"')


def test_demo_job_is_fixed_remembered_and_reported(tmp_path: Path, data_dir: Path, llm: ScriptedLLM,
                                                    inbox: tuple[smtp_server.Inbox, int],
                                                    stop_all: list[subprocess.Popen[str]]) -> None:
    box, smtp_port = inbox
    summary = "Account ids are integers now; the cache key formats the id instead of adding it to text."
    llm.script(reply_files(("swdemo/remember.py", GOOD_REMEMBER)), "YES", summary)
    port = free_port()
    env = clean_env(APP_PORT=str(port), APP_DATA_DIR=str(data_dir), AI_SERVICE_URL=llm.url,
                    APP_SMTP_HOST="127.0.0.1", APP_SMTP_PORT=str(smtp_port), JOB_BACKOFF_MS="10",
                    SANDBOX_TIMEOUT="10")
    proc = smartworker("up", env=env, cwd=tmp_path)
    stop_all.append(proc)
    base = f"http://127.0.0.1:{port}"
    wait_http(base + "/health", proc, timeout=60)
    health = poll(lambda: (r := httpx.get(base + "/health")).status_code == 200 and r.json(), timeout=60)
    assert health["database"] == "up"

    job_id = httpx.get(base + "/").json()["id"]
    fixes = poll(lambda: (p := httpx.get(base + "/fixes").json())["total"] == 1
                 and p["fixes"][0]["status"] != "running" and p, timeout=90)
    brief = fixes["fixes"][0]
    assert brief["status"] == "fixed", brief
    assert brief["job_id"] == job_id and brief["summary"] == summary
    record = httpx.get(f"{base}/fixes/{brief['id']}").json()
    assert "f\"device:{account['id']}:{kind}\"" in record["diff"]
    assert record["candidates"][0]["outcome"]["status"] == "ok"

    mail = poll(lambda: box.messages and box.messages[-1], timeout=30)
    assert mail["Subject"].startswith("[SmartWorker] FIXED: login job")

    # Memory: the failure is stored, redacted, with its resolution.
    failures = poll(lambda: (f := httpx.get(base + "/failures", params={"resolved": "true"}).json())["total"] == 1
                    and f, timeout=30)
    stored = failures["failures"][0]
    assert stored["resolution_summary"] == summary and stored["data"]["password"] == "[REDACTED]"
    assert httpx.get(f"{base}/failures/{stored['id']}").json()["job_id"] == job_id
    found = httpx.post(base + "/memory/search", json={
        "error": 'TypeError: can only concatenate str (not "int") to str', "job_name": "login"}).json()
    assert found["winner"]["failure"]["id"] == stored["id"]
    assert httpx.post(base + "/memory/search", json={"traceback": "x"}).status_code == 422

    # The same bug again: its prompt now carries the remembered resolution.
    llm.script(reply_files(("swdemo/remember.py", GOOD_REMEMBER)), "YES", summary)
    httpx.get(base + "/")
    poll(lambda: httpx.get(base + "/fixes").json()["total"] == 2
         and all(f["status"] != "running" for f in httpx.get(base + "/fixes").json()["fixes"]), timeout=90)
    prompt: Any = llm.requests[0]["messages"][1]["content"]
    assert "A similar failure fixed before" in prompt and "formats the id" in prompt

    # A dead job that did not ask for a fix can be sent to the resolver by hand.
    dead = httpx.post(base + "/job", json={"name": "login", "data": {"password": "x"}, "opts": {"attempts": 1}})
    dlq_id = poll(lambda: next((j["id"] for j in httpx.get(base + "/dlq").json()["jobs"]
                                if j["jobId"] == dead.json()["id"]), None), timeout=30)
    asked = httpx.post(f"{base}/dlq/{dlq_id}/fix")
    assert asked.status_code == 202 and asked.json()["dlqId"] == dlq_id
    assert httpx.post(base + "/dlq/nope/fix").status_code == 404

    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out[-3000:]
    assert "wonderland" not in out  # the demo's password never reaches a log line
