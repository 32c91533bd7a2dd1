"""Fault tests: services of our own that a test stops and starts again (never the shared ones).

Each test starts its own redis-server on a free port in a temporary directory, its own embedded
PostgreSQL, its own scripted LLM server: stopping the shared Redis on 6379 would break every
other test running on this machine.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import redis
from tests.conftest import require
from tests.e2e.conftest import ROOT, clean_env, free_port


@dataclass
class OwnRedis:
    """A redis-server child on a free port, persisting every write (appendfsync always) so a
    restart keeps what was acknowledged."""

    directory: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Its URL."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start it and wait until it answers."""
        binary = shutil.which("redis-server")
        require(binary is not None, "redis-server is not installed (apt-get install redis-server)")
        assert binary is not None
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.directory),
             "--appendonly", "yes", "--appendfsync", "always", "--save", "", "--maxmemory-policy", "noeviction",
             "--logfile", str(self.directory / "redis.log")],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with redis.Redis.from_url(self.url, socket_connect_timeout=0.5) as client:
                    if client.ping():
                        return
            except redis.RedisError:
                time.sleep(0.05)
        raise AssertionError(f"own redis-server did not start; see {self.directory}/redis.log")

    def stop(self) -> None:
        """Stop it (SIGTERM: it writes its append-only file and exits) and wait for the port to close."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(10)
        self.process = None


@pytest.fixture
def own_redis() -> Iterator[OwnRedis]:
    """A Redis this test may stop and restart."""
    directory = Path(tempfile.mkdtemp(prefix="sw-fault-redis-"))
    server = OwnRedis(directory)
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(directory, ignore_errors=True)


def start_smartworker(command: str, env: dict[str, str], procs: list[subprocess.Popen[str]],
                      log_path: Path) -> tuple[subprocess.Popen[str], str]:
    """``smartworker <command>`` with the test apps, output to ``log_path``; returns it and its base URL
    once /health answers (whatever its status)."""
    import sys

    port = free_port()
    full = clean_env(**{"APP_ROOT_DIR": str(ROOT / "tests" / "apps"), "SMARTWORKER_APP": "testapp",
                        "AI_LOCAL_LLM": "false", "APP_EMBEDDED": "false", **env, "APP_PORT": str(port)})
    with log_path.open("w") as out:  # the child keeps its own descriptor
        proc: subprocess.Popen[str] = subprocess.Popen([sys.executable, "-m", "smartworker", command], env=full,
                                                       cwd=ROOT, text=True, stdout=out, stderr=subprocess.STDOUT)
    procs.append(proc)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"smartworker {command} exited with {proc.returncode}:\n{log_path.read_text()}")
        try:
            httpx.get(f"{base}/health", timeout=2)
            return proc, base
        except httpx.HTTPError:
            time.sleep(0.1)
    raise AssertionError(f"smartworker {command} did not answer:\n{log_path.read_text()}")


@pytest.fixture
def procs() -> Iterator[list[subprocess.Popen[str]]]:
    """Processes a test started; stopped at the end (SIGTERM, then SIGKILL) whatever happens."""
    started: list[subprocess.Popen[str]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
