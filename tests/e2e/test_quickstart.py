"""The README's quick start as a newcomer meets it: a clean clone, a fresh data dir, ``up``, the demo job.

An OpenAI-compatible server with scripted replies stands in for the bundled local model (which
needs 1.1 GB of parts and minutes per fix on these machines; ``bench/demo.py`` runs that one).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from tests.e2e.conftest import ROOT, clean_env, finish, free_port, processes_of, wait_http
from tests.fakes.openai_server import ScriptedLLM, reply_files
from tests.waiting import poll

from smartworker.config import DEMO_APP_ROOT

REMEMBER = (DEMO_APP_ROOT / "swdemo" / "remember.py").read_text()
GOOD_REMEMBER = REMEMBER.replace('"device:" + account["id"] + ":" + kind', 'f"device:{account[\'id\']}:{kind}"')
SUMMARY = "Account ids are integers now; the cache key formats the id instead of adding it to text."


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    """A clean clone of the commit under test."""
    target = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(target)], check=True, timeout=120)
    return target


def _up(clone: Path, env: dict[str, str], stop_all: list[subprocess.Popen[str]]) -> subprocess.Popen[str]:
    # What `make up` runs once it has installed: the clone's own code (PYTHONPATH), in the clone.
    proc = subprocess.Popen([sys.executable, "-m", "smartworker", "up"], cwd=clone, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    stop_all.append(proc)
    return proc


def _env(clone: Path, data_dir: Path, llm: ScriptedLLM, **extra: str) -> dict[str, str]:
    return clean_env(PYTHONPATH=str(clone / "src"), APP_DATA_DIR=str(data_dir),
                     APP_PORT=str(free_port()), AI_SERVICE_URL=llm.url, **extra)


def _fix_of(base: str, job_id: str) -> dict[str, object]:
    page = poll(lambda: (p := httpx.get(base + "/fixes").json())["total"] >= 1
                and p["fixes"][0]["status"] != "running" and p, timeout=120)
    brief: dict[str, object] = page["fixes"][0]
    assert brief["job_id"] == job_id
    return brief


def test_quick_start_from_a_clean_clone(clone: Path, data_dir: Path, llm: ScriptedLLM,
                                        stop_all: list[subprocess.Popen[str]]) -> None:
    plan = subprocess.run(["make", "-n", "up"], cwd=clone, capture_output=True, text=True, timeout=60).stdout
    assert "scripts/runtime-deps.sh" in plan and "smartworker up" in plan  # bubblewrap (as root), then up
    env = _env(clone, data_dir, llm)
    where = subprocess.run([sys.executable, "-c", "import smartworker; print(smartworker.__file__)"], env=env,
                           cwd=clone, capture_output=True, text=True, timeout=60, check=True).stdout
    assert where.startswith(str(clone)), where  # the clone's code runs, not the checkout's

    llm.script(reply_files(("swdemo/remember.py", GOOD_REMEMBER)), "YES", SUMMARY)
    proc = _up(clone, env, stop_all)
    base = f"http://127.0.0.1:{env['APP_PORT']}"
    wait_http(base + "/health", proc, timeout=60)
    health = poll(lambda: (r := httpx.get(base + "/health")).status_code == 200 and r.json(), timeout=60)
    assert health["sandbox"] == "up" and health["database"] == "up"

    job_id = httpx.get(base + "/").json()["id"]
    fix = _fix_of(base, job_id)
    assert fix["status"] == "fixed", fix

    proc.send_signal(signal.SIGTERM)
    out = finish(proc, timeout=60)
    before_ready, ready, _ = out.partition("ready  API")
    assert ready, f"no ready banner:\n{out}"
    assert len(before_ready.splitlines()) <= 12, f"set-up is not one line per phase:\n{before_ready}"
    banner = out[out.index("ready  API"):]
    assert f"{base}/docs" in banner and str(data_dir) in banner
    assert f"remote, {llm.url}" in banner and "embedded  Redis, PostgreSQL" in banner
    assert "failed=[]" in out
    assert processes_of(data_dir) == []


def _path_without_bwrap(tmp_path: Path) -> str:
    """A PATH holding every command of this one except bwrap (a machine without bubblewrap)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for directory in os.environ.get("PATH", "").split(os.pathsep):
        if not os.path.isdir(directory):
            continue
        for name in os.listdir(directory):
            if name != "bwrap" and not (bin_dir / name).exists():
                (bin_dir / name).symlink_to(Path(directory) / name)
    assert shutil.which("bwrap", path=str(bin_dir)) is None
    return str(bin_dir)


def test_without_bwrap_up_starts_and_says_the_sandbox_is_unavailable(
        clone: Path, tmp_path: Path, data_dir: Path, llm: ScriptedLLM, stop_all: list[subprocess.Popen[str]]) -> None:
    llm.script(reply_files(("swdemo/remember.py", GOOD_REMEMBER)), "YES", SUMMARY)
    env = _env(clone, data_dir, llm, PATH=_path_without_bwrap(tmp_path))
    proc = _up(clone, env, stop_all)
    base = f"http://127.0.0.1:{env['APP_PORT']}"
    wait_http(base + "/health", proc, timeout=60)
    health = poll(lambda: (r := httpx.get(base + "/health")).status_code == 200 and r.json(), timeout=60)
    assert health["sandbox"].startswith("unavailable: bwrap not found") and "apt-get install" in health["sandbox"]

    # Queues and the DLQ still work; a resolution ends as an error that names the sandbox, not "not fixed".
    job_id = httpx.get(base + "/").json()["id"]
    fix = _fix_of(base, job_id)
    assert fix["status"] == "error" and str(fix["reason"]).startswith("sandbox unavailable"), fix
    assert httpx.get(base + "/dlq").json()["total"] == 1
    assert llm.chat_calls == 0  # nothing is asked of the model when nothing could verify its answer

    proc.send_signal(signal.SIGTERM)
    out = finish(proc, timeout=60)
    assert "sandbox   unavailable: bwrap not found" in out  # in the ready banner too
