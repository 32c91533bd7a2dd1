"""Start-up as a user meets it: clear one-line errors, one system per data dir whatever the working
directory, and ``api`` and ``worker`` started together on a fresh data dir."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
from tests.e2e.conftest import clean_env, finish, free_port, processes_of, smartworker, start_up, wait_http
from tests.fakes import openai_server
from tests.fakes.openai_server import Step, reply_files
from tests.waiting import poll

from smartworker.config import DEMO_APP_ROOT


def run(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "smartworker", *args], env=clean_env(**env), cwd=cwd, text=True,
                          capture_output=True, timeout=60)


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1, (result.returncode, result.stderr)
    return lines[0]


def _up(tmp_path: Path, data_dir: Path, stop_all: list[subprocess.Popen[str]],
        **env: str) -> tuple[subprocess.Popen[str], str]:
    return start_up(tmp_path, clean_env(APP_PORT=str(free_port()), APP_DATA_DIR=str(data_dir),
                                        AI_LOCAL_LLM="false", JOB_BACKOFF_MS="10", **env), stop_all)


def test_port_in_use_is_one_line(tmp_path: Path, data_dir: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = one_line(run("up", cwd=tmp_path, APP_PORT=str(port), APP_DATA_DIR=str(data_dir),
                            AI_LOCAL_LLM="false"))
    assert "APP_PORT" in line and str(port) in line
    assert processes_of(data_dir) == []  # refused before anything started


def test_data_dir_that_cannot_be_created_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    line = one_line(run("up", cwd=tmp_path, APP_PORT=str(free_port()), APP_DATA_DIR=str(blocker / "data")))
    assert "APP_DATA_DIR" in line and str(blocker / "data") in line


def test_cli_without_a_running_system_says_so_instead_of_starting_redis(tmp_path: Path, data_dir: Path) -> None:
    data = data_dir
    for args in (["enqueue", "login"], ["dlq", "list"], ["fix", "1"]):
        line = one_line(run(*args, cwd=tmp_path, APP_DATA_DIR=str(data)))
        assert "no SmartWorker is running" in line and "smartworker up" in line
    assert not (data / "redis").exists()


def test_one_system_per_data_dir_wherever_the_cli_runs(tmp_path: Path, data_dir: Path,
                                                       stop_all: list[subprocess.Popen[str]]) -> None:
    up, base = _up(tmp_path, data_dir, stop_all)
    data = str(data_dir)

    second = one_line(run("up", cwd=tmp_path, APP_PORT=str(free_port()), APP_DATA_DIR=data))
    assert "another smartworker up" in second and str(up.pid) in second

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    enqueued = run("enqueue", "login", "--data", '{"password": "x"}', "--opts", '{"attempts": 1}', cwd=elsewhere,
                   APP_DATA_DIR=data)
    assert enqueued.returncode == 0, enqueued.stderr
    job_id = enqueued.stdout.strip()
    # The running system's worker took it: it failed for good and sits in the DLQ.
    poll(lambda: httpx.get(f"{base}/jobs/{job_id}").json()["state"] == "dead", timeout=30)
    listed = run("dlq", "list", "--json", cwd=elsewhere, APP_DATA_DIR=data)
    assert listed.returncode == 0 and job_id in listed.stdout
    assert not (elsewhere / ".smartworker").exists()

    up.send_signal(signal.SIGTERM)
    finish(up, timeout=60)
    assert not (data_dir / "run.json").exists()


def test_api_and_worker_start_together_on_a_fresh_data_dir(tmp_path: Path, data_dir: Path,
                                                           stop_all: list[subprocess.Popen[str]]) -> None:
    port = free_port()
    env = clean_env(APP_PORT=str(port), APP_DATA_DIR=str(data_dir), AI_LOCAL_LLM="false",
                    NODE_ENV="production")
    api = smartworker("api", env=env, cwd=tmp_path)
    worker = smartworker("worker", env=env, cwd=tmp_path)
    stop_all.extend([api, worker])
    base = f"http://127.0.0.1:{port}"
    wait_http(base + "/health", api, timeout=90)
    health = poll(lambda: (r := httpx.get(base + "/health")).status_code == 200 and r.json(), timeout=90)
    assert health["database"] == "up" and health["workers"] >= 1
    assert worker.poll() is None and api.poll() is None

    # Either may stop first: the embedded servers they share go with the last one.
    api.send_signal(signal.SIGTERM)
    finish(api, timeout=60)
    assert worker.poll() is None
    worker.send_signal(signal.SIGTERM)
    finish(worker, timeout=60)
    assert processes_of(data_dir) == []


def test_fix_uses_the_model_server_that_already_runs(tmp_path: Path, data_dir: Path,
                                                     stop_all: list[subprocess.Popen[str]]) -> None:
    login = (DEMO_APP_ROOT / "swdemo" / "login.py").read_text()
    good = login.replace('normalise_email(data.get("email"))',
                         'normalise_email(data.get("email") or data.get("username") or "")')
    with openai_server.running() as llm:
        # The answer takes a few seconds, so `fix` shows the resolution's progress while it waits.
        llm.script(Step(text=reply_files(("swdemo/login.py", good)), delay_s=3.0), "YES", "falls back to username")
        port = llm.url.rsplit(":", 1)[1]
        up, base = _up(tmp_path, data_dir, stop_all, AI_LOCAL_LLM_PORT=port)
        dead = httpx.post(base + "/job", json={"name": "login", "opts": {"attempts": 1},
                                               "data": {"username": "a@example.com", "password": "x"}}).json()["id"]
        dlq_id = poll(lambda: next((j["id"] for j in httpx.get(base + "/dlq").json()["jobs"] if j["jobId"] == dead),
                                   None), timeout=30)
        # A model server answers on AI_LOCAL_LLM_PORT (as `smartworker llm serve` or up's own would):
        # `fix` asks it instead of starting a second one on the same port.
        fixed = run("fix", dlq_id, cwd=tmp_path, APP_DATA_DIR=str(data_dir), AI_LOCAL_LLM_PORT=port)
        assert fixed.returncode == 0, fixed.stdout + fixed.stderr
        assert "fixed" in fixed.stdout and llm.chat_calls >= 1
        shown = " ".join(fixed.stdout.split())
        assert "asking the model (candidate 1 of 4), " in shown  # the local model's sizing: 4 candidates
        assert re.search(r"fixed \(.*\) after \d+ s, [\d,]+ tokens", shown), shown
    up.send_signal(signal.SIGTERM)
    finish(up, timeout=60)
