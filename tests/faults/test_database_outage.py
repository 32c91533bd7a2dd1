"""PostgreSQL (the failure memory) stopped and started again under a running API: memory routes
answer 503 while it is down, and /health says it is back within 5 s of its return."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.conftest import require
from tests.faults.conftest import start_smartworker
from tests.waiting import poll

from smartworker.errors import SmartWorkerError
from smartworker.memory.database import EmbeddedPostgres, start_embedded_postgres

MEMORY_ROUTES = [("GET", "/failures", None), ("GET", "/failures/1", None),
                 ("POST", "/memory/search", {"error": "KeyError: 'email'"})]


@pytest.fixture
def pg_dir() -> Iterator[Path]:
    # Not under pytest's basetemp: another pytest session may prune it under the running server.
    base = Path(tempfile.mkdtemp(prefix="sw-fault-pg-"))
    yield base
    shutil.rmtree(base, ignore_errors=True)


def _start(base: Path) -> EmbeddedPostgres:
    try:
        return start_embedded_postgres(base, database="faults", shared_buffers=None)
    except (SmartWorkerError, OSError) as exc:
        require(False, f"embedded PostgreSQL could not start: {exc}")
        raise


def test_database_down_then_back(pg_dir: Path, procs: list[subprocess.Popen[str]], tmp_path: Path,
                                 redis_url: str, queue_name: str) -> None:
    server = _start(pg_dir)
    try:
        _, base = start_smartworker("api", {"REDIS_URL": redis_url, "APP_QUEUE_NAME": queue_name,
                                            "DATABASE_URL": server.dsn, "APP_DATA_DIR": str(tmp_path / "data")},
                                    procs, tmp_path / "api.log")
        with httpx.Client(base_url=base, timeout=15) as http:
            assert http.get("/failures").status_code == 200
            assert http.get("/health").json()["database"] == "up"

            server.stop()
            for method, path, body in MEMORY_ROUTES:
                answer = http.request(method, path, json=body)
                assert answer.status_code == 503, (path, answer.status_code, answer.text)
                assert "memory database" in answer.json()["detail"]
            assert http.get("/health").json()["database"] == "down"

            server = _start(pg_dir)
            back = time.monotonic()
            poll(lambda: http.get("/health").json()["database"] == "up", timeout=5)
            recovered = time.monotonic() - back
            print(f"database outage: /health up {recovered:.2f} s after PostgreSQL answered again")
            assert http.get("/failures").status_code == 200
            assert http.post("/memory/search", json={"error": "KeyError: 'email'"}).status_code == 200
    finally:
        server.stop()
