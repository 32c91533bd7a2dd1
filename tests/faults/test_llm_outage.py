"""The LLM server killed in the middle of a fix under `smartworker up`: the record says so, one alert
for the outage (no email per job), /health degraded, and the held resolutions run once it is back."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.conftest import require
from tests.e2e.conftest import ROOT, free_port
from tests.fakes import smtp_server
from tests.fakes.openai_server import reply_files
from tests.faults.conftest import start_smartworker
from tests.integration.test_resolution import GOOD_LOGIN
from tests.waiting import poll

from smartworker.config import DEMO_APP_ROOT

FAILING = {"username": "alice@example.com", "password": "wonderland", "reasoning_fix": True}


def _fake_llm(port: int, reply: Path, log: Path, delay: float) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([sys.executable, "-m", "tests.fakes.openai_server", "--port", str(port), "--reply-file",
                             str(reply), "--log", str(log), "--delay", str(delay)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    poll(lambda: _answers(port), timeout=20)
    return proc


def _answers(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/v1/models", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _fixes(http: httpx.Client, queue: str) -> list[dict[str, Any]]:
    # Fix records share one index on a Redis; other tests' records are on other queues.
    fixes = http.get("/fixes", params={"size": 200}).json()["fixes"]
    return [f for f in fixes if f["queue"] == queue]


def _subjects(inbox: smtp_server.Inbox) -> list[str]:
    return [str(m["Subject"]) for m in inbox.messages]


@pytest.fixture
def inbox() -> Any:
    box, controller, port = smtp_server.start()
    yield box, port
    controller.stop()


def test_llm_killed_mid_fix(procs: list[subprocess.Popen[str]], tmp_path: Path, redis_url: str, queue_name: str,
                            inbox: tuple[smtp_server.Inbox, int]) -> None:
    require(Path("/usr/bin/bwrap").exists(), "bwrap is not installed (apt-get install bubblewrap)")
    box, smtp_port = inbox
    reply = tmp_path / "reply.txt"
    reply.write_text(reply_files(("swdemo/login.py", GOOD_LOGIN)))
    calls = tmp_path / "llm-calls.log"
    llm_port = free_port()
    llm = _fake_llm(llm_port, reply, calls, delay=3.0)
    try:
        _, base = start_smartworker("up", {
            "REDIS_URL": redis_url, "APP_QUEUE_NAME": queue_name, "APP_DATA_DIR": str(tmp_path / "data"),
            "APP_ROOT_DIR": str(DEMO_APP_ROOT), "SMARTWORKER_APP": "swdemo",
            "AI_SERVICE_URL": f"http://127.0.0.1:{llm_port}", "AI_MAX_RETRIES": "1", "AI_TIMEOUT": "30",
            "AI_BREAKER_BACKOFF": "1", "AI_BREAKER_MAX_BACKOFF": "4", "AI_OUTPUT_REVIEW": "false",
            "APP_SMTP_HOST": "127.0.0.1", "APP_SMTP_PORT": str(smtp_port), "JOB_ATTEMPTS": "1",
            "SANDBOX_REPLAY_K": "0", "SANDBOX_VARIANTS": "false"}, procs, tmp_path / "up.log")
        with httpx.Client(base_url=base, timeout=15) as http:
            assert http.post("/job", json={"name": "login", "data": FAILING}).status_code == 201
            poll(lambda: calls.exists() and "POST /v1/chat/completions" in calls.read_text(), timeout=60)
            llm.send_signal(signal.SIGKILL)  # mid-answer: the fake holds each reply 3 s
            llm.wait()

            poll(lambda: any(f["status"] == "error" for f in _fixes(http, queue_name)), timeout=30)
            [record] = _fixes(http, queue_name)
            assert record["reason"] == "llm unavailable"
            poll(lambda: _subjects(box), timeout=20)
            health = http.get("/health")
            assert health.status_code == 200 and health.json()["llm"] == "down"
            assert health.json()["status"] == "degraded"

            # Another job dies during the outage: its resolution is held back, nobody is emailed.
            second = {**FAILING, "username": "bob@example.com"}
            assert http.post("/job", json={"name": "login", "data": second}).status_code == 201
            poll(lambda: http.get("/dlq").json()["total"] == 2, timeout=30)
            time.sleep(3)  # two breaker pauses: tries while it is still down
            assert _subjects(box) == ["[SmartWorker] LLM unavailable"]
            assert len(_fixes(http, queue_name)) == 1

            llm = _fake_llm(llm_port, reply, calls, delay=0.0)
            back = time.monotonic()
            poll(lambda: sum(f["status"] not in ("error", "running") for f in _fixes(http, queue_name)) == 2,
                 timeout=120)
            print(f"llm outage: both held resolutions finished {time.monotonic() - back:.1f} s after it returned")
            finished = [f for f in _fixes(http, queue_name) if f["status"] != "error"]
            assert {f["job_id"] for f in finished} == {str(i) for i in (1, 2)}
            assert all(f["llm_calls"] >= 1 for f in finished)
            assert http.get("/health").json()["llm"] == "up"
            subjects = _subjects(box)
            assert subjects.count("[SmartWorker] LLM unavailable") == 1
            assert len(subjects) == 3, subjects  # the alert, then one report per resolution
    finally:
        if llm.poll() is None:
            llm.terminate()
            llm.wait(10)
