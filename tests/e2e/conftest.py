"""Helpers to run ``smartworker`` as a user does: a subprocess with its own environment."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.fakes import openai_server, smtp_server
from tests.fakes.openai_server import ScriptedLLM
from tests.waiting import poll

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def clean_env(**extra: str) -> dict[str, str]:
    """The parent's environment without any SmartWorker setting, plus ``extra``."""
    prefixes = ("APP_", "AI_", "REDIS_", "DATABASE_", "SMARTWORKER_", "HAZARD_", "SANDBOX_", "MEMORY_", "JOB_",
                "WORKER_", "FIX_", "OTEL_", "PROMETHEUS_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    env.update(extra)
    return env


def smartworker(*args: str, env: dict[str, str], cwd: Path, **kw: object) -> subprocess.Popen[str]:
    """Start ``python -m smartworker ARGS``."""
    return subprocess.Popen([sys.executable, "-m", "smartworker", *args], env=env, cwd=cwd, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, **kw)  # type: ignore[call-overload]


def finish(proc: subprocess.Popen[str], timeout: float = 60) -> str:
    """Wait for ``proc`` to exit, reading its output meanwhile (a full pipe would block it), and
    return that output; fail with it when the process does not exit in time or exits non-zero."""
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        try:
            out, _ = proc.communicate(timeout=5)
        except subprocess.TimeoutExpired as held:
            # A server it started (embedded Redis or PostgreSQL) outlived it and still holds the
            # pipe open, so it never reaches end-of-file: report what was read so far.
            out = held.output.decode(errors="replace") if isinstance(held.output, bytes) else held.output or ""
        raise AssertionError(f"still running {timeout:.0f} s later; its output:\n{out[-6000:]}") from None
    assert proc.returncode == 0, f"exited with {proc.returncode}; its output:\n{out[-6000:]}"
    return out


def start_up(cwd: Path, env: dict[str, str], stop_all: list[subprocess.Popen[str]]) -> tuple[
        subprocess.Popen[str], str]:
    """``smartworker up`` in a process group of its own (as a terminal gives it), once /health is 200;
    returns the process and the API's base URL (from APP_PORT)."""
    proc = smartworker("up", env=env, cwd=cwd, start_new_session=True)
    stop_all.append(proc)
    base = f"http://127.0.0.1:{env['APP_PORT']}"
    wait_http(base + "/health", proc, timeout=60)
    health = poll(lambda: (r := httpx.get(base + "/health")).status_code == 200 and r.json(), timeout=60)
    if health["database"] != "up":  # the embedded PostgreSQL did not start: show why
        proc.kill()
        out, _ = proc.communicate(timeout=10)
        raise AssertionError(f"the memory's database is {health['database']!r}; up's output:\n{out[-4000:]}")
    return proc, base


def processes_of(data_dir: Path) -> list[str]:
    """Command lines of live processes that name ``data_dir`` (embedded servers left running)."""
    from smartworker.processes import using

    return [" ".join(p.info["cmdline"] or []) for p in using(data_dir)]


def stopped_line(out: str) -> dict[str, object]:
    """The shutdown summary of a run with JSON logs (NODE_ENV=production)."""
    import json

    return dict(next(json.loads(line) for line in out.splitlines() if '"event": "stopped"' in line))


def wait_http(url: str, proc: subprocess.Popen[str], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            out = proc.stdout.read() if proc.stdout else ""
            raise AssertionError(f"process exited with {proc.returncode}:\n{out}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise AssertionError(f"{url} did not answer within {timeout}s")


@pytest.fixture
def data_dir() -> Iterator[Path]:
    """A fresh APP_DATA_DIR outside pytest's own temp root.

    As root, the embedded PostgreSQL runs as a system user that must traverse every parent of its
    data dir; pytest makes ``/tmp/pytest-of-<user>`` private again whenever any pytest session
    starts, which stopped PostgreSQL from opening its log mid-run on a shared machine.
    """
    path = Path(tempfile.mkdtemp(prefix="smartworker-test-")) / "data"
    yield path
    shutil.rmtree(path.parent, ignore_errors=True)


@pytest.fixture
def stop_all() -> Iterator[list[subprocess.Popen[str]]]:
    """Processes a test started; killed at the end whatever happens."""
    procs: list[subprocess.Popen[str]] = []
    yield procs
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout:
            proc.stdout.close()


@pytest.fixture
def llm() -> Iterator[ScriptedLLM]:
    """An OpenAI-compatible server with scripted replies."""
    with openai_server.running() as state:
        yield state


@pytest.fixture
def inbox() -> Iterator[tuple[smtp_server.Inbox, int]]:
    """A real SMTP server and its port; its messages, parsed."""
    box, controller, port = smtp_server.start()
    yield box, port
    controller.stop()
