"""``smartworker up`` killed with SIGKILL leaves its embedded servers running; the next ``up`` on the
same data dir adopts them (and says so), and stops them when it stops: none is left behind."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import httpx
from tests.e2e.conftest import clean_env, finish, free_port, processes_of, start_up, stopped_line
from tests.e2e.conftest import data_dir as data_dir  # the fixtures, shared with the e2e tests
from tests.e2e.conftest import stop_all as stop_all


def _up(tmp_path: Path, data_dir: Path, stop_all: list[subprocess.Popen[str]]) -> tuple[subprocess.Popen[str], str]:
    env = clean_env(APP_PORT=str(free_port()), APP_DATA_DIR=str(data_dir), NODE_ENV="production",
                    AI_LOCAL_LLM="false")
    return start_up(tmp_path, env, stop_all)


def test_sigkill_of_up_then_up_again_leaves_no_orphan(tmp_path: Path, data_dir: Path,
                                                      stop_all: list[subprocess.Popen[str]]) -> None:
    data = data_dir
    first, base = _up(tmp_path, data_dir, stop_all)
    job = httpx.post(base + "/job", json={"name": "login", "data": {"email": "a@example.com", "password": "x"},
                                          "opts": {"delay": 600_000}}).json()["id"]
    first.send_signal(signal.SIGKILL)
    first.wait()
    if first.stdout:
        first.stdout.close()
    left = processes_of(data)
    assert any("redis" in cmd for cmd in left) and any("postgres" in cmd for cmd in left), left

    second, base = _up(tmp_path, data_dir, stop_all)
    assert httpx.get(f"{base}/jobs/{job}").json()["state"] == "delayed"  # the adopted Redis kept it
    second.send_signal(signal.SIGTERM)
    out = finish(second, timeout=60)
    assert "adopted from an earlier run" in out  # the phase lines say what was taken over
    assert stopped_line(out)["failed"] == []
    assert processes_of(data) == []
