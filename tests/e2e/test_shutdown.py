"""Stopping ``smartworker up`` as a terminal or a supervisor does: signals to its whole process group.

The embedded servers run in sessions of their own, so they are stopped by ``up`` itself, last;
nothing of the data dir is left running afterwards.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
from tests.e2e.conftest import (
    ROOT,
    clean_env,
    finish,
    free_port,
    processes_of,
    start_up,
    stopped_line,
)
from tests.waiting import poll

TEST_APPS = ROOT / "tests" / "apps"


def _env(data_dir: Path, port: int, **extra: str) -> dict[str, str]:
    return clean_env(APP_PORT=str(port), APP_DATA_DIR=str(data_dir), SMARTWORKER_APP="testapp",
                     APP_ROOT_DIR=str(TEST_APPS), NODE_ENV="production", AI_LOCAL_LLM="false", **extra)


def _slow_job(base: str, seconds: float, marker: Path) -> str:
    created = httpx.post(base + "/job", json={"name": "slow", "data": {"seconds": seconds, "marker": str(marker)}})
    assert created.status_code == 201, created.text
    job_id: str = created.json()["id"]
    poll(lambda: httpx.get(f"{base}/jobs/{job_id}").json()["state"] == "active", timeout=30)
    return job_id


def test_ctrl_c_to_the_group_drains_then_stops_every_embedded_service(
        tmp_path: Path, data_dir: Path, stop_all: list[subprocess.Popen[str]]) -> None:
    marker = tmp_path / "done.txt"
    proc, base = start_up(tmp_path, _env(data_dir, free_port()), stop_all)
    assert processes_of(data_dir), "embedded Redis and PostgreSQL should run under the data dir"
    _slow_job(base, 2.0, marker)

    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
    out = finish(proc, timeout=60)

    assert marker.exists(), "the job in flight ran to its end before the workers stopped"
    stopped = stopped_line(out)
    assert stopped["failed"] == [], out[-3000:]
    assert {"http", "JobWorker", "embedded redis", "embedded postgres"} <= set(stopped["seconds"])  # type: ignore[arg-type]
    assert processes_of(data_dir) == []


def test_two_sigterms_hand_the_job_back_and_still_stop_everything(
        tmp_path: Path, data_dir: Path, stop_all: list[subprocess.Popen[str]]) -> None:
    marker = tmp_path / "done.txt"
    env = _env(data_dir, free_port())
    proc, base = start_up(tmp_path, env, stop_all)
    job_id = _slow_job(base, 20.0, marker)

    os.killpg(proc.pid, signal.SIGTERM)
    time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGTERM)
    started = time.monotonic()
    out = finish(proc, timeout=60)

    assert time.monotonic() - started < 15, "the second signal did not shorten the 20 s drain"
    assert not marker.exists()
    assert '"jobs handed back to the queue"' in out and stopped_line(out)["failed"] == []
    assert processes_of(data_dir) == []

    # Handed back, not left locked: the next `up` on the data dir starts it at once (a locked job
    # would first wait 30 s for its lock to expire and a stalled check to find it).
    proc, base = start_up(tmp_path, _env(data_dir, free_port()), stop_all)
    poll(lambda: httpx.get(f"{base}/jobs/{job_id}").json()["state"] == "active", timeout=10)
    os.killpg(proc.pid, signal.SIGTERM)
    time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGTERM)
    finish(proc, timeout=60)
    assert processes_of(data_dir) == []
