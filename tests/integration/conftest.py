"""Fixtures for the integration tests: one embedded PostgreSQL + pgvector per session, a fresh
database per test, and one bwrap sandbox per session.

Locally a service that cannot start skips these tests with the reason; under CI=true it fails them.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo
from tests.fakes import openai_server, smtp_server
from tests.fakes.openai_server import ScriptedLLM

from smartworker.config import Settings
from smartworker.errors import SandboxUnavailableError, SmartWorkerError
from smartworker.memory.database import EmbeddedPostgres, start_embedded_postgres
from smartworker.memory.embeddings import LocalEmbeddings
from smartworker.memory.store import MemoryStore
from smartworker.sandbox import SandboxLimits
from smartworker.sandbox.bwrap import BwrapSandbox

_IN_CI = os.environ.get("CI", "").lower() == "true"


def _require(ok: bool, reason: str) -> None:
    if ok:
        return
    if _IN_CI:
        pytest.fail(f"required under CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def sandbox() -> BwrapSandbox:
    """The real bwrap backend with tight limits, so hostile candidates end quickly."""
    backend = BwrapSandbox(SandboxLimits(timeout_s=4.0, memory_mb=512, cpu_s=2, max_procs=32, file_mb=4),
                           concurrency=4)
    reason = ""
    try:
        backend.check()
    except SandboxUnavailableError as exc:
        reason = f"bwrap sandbox unavailable: {exc}"
    _require(not reason, reason)
    return backend


@pytest.fixture(scope="session")
def embedded_pg() -> Iterator[EmbeddedPostgres]:
    """PostgreSQL 18 + pgvector from embedded-postgres, in a temporary data dir of its own.

    Not under pytest's basetemp: a concurrent pytest session prunes old basetemp directories and
    would delete pgdata under the running server.
    """
    base = Path(tempfile.mkdtemp(prefix="sw-memory-pg-"))
    handle: EmbeddedPostgres | None = None
    reason = ""
    try:
        handle = start_embedded_postgres(base, database="smartworker_test")
    except (SmartWorkerError, OSError) as exc:
        reason = f"embedded PostgreSQL could not start: {exc}"
    _require(handle is not None, reason)
    assert handle is not None
    yield handle
    handle.stop()
    shutil.rmtree(base, ignore_errors=True)


@contextmanager
def fresh_database(server: EmbeddedPostgres) -> Iterator[str]:
    """Create an empty database on ``server``; yield its DSN; drop it."""
    name = f"mem_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server.dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield make_conninfo(server.dsn, dbname=name)
    finally:
        with psycopg.connect(server.dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def database_dsn(embedded_pg: EmbeddedPostgres) -> Iterator[str]:
    """A new, empty database on the session server, dropped after the test."""
    with fresh_database(embedded_pg) as dsn:
        yield dsn


@pytest.fixture
async def client(service: Any) -> AsyncIterator[httpx.AsyncClient]:
    """The HTTP API over the test service, through httpx's ASGI transport."""
    from smartworker.api.app import create_app

    transport = httpx.ASGITransport(app=create_app(service))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


@pytest.fixture
def memory_settings(tmp_path: Path) -> Settings:
    """Settings with the default weights and K, reading no .env."""
    return Settings(_env_file=None, APP_DATA_DIR=tmp_path)  # type: ignore[call-arg]


@pytest.fixture
async def store(database_dsn: str, memory_settings: Settings) -> AsyncIterator[MemoryStore]:
    """A migrated MemoryStore on a fresh database, with the local MiniLM model."""
    opened = await MemoryStore.open(memory_settings, provider=LocalEmbeddings(), dsn=database_dsn)
    yield opened
    await opened.close()


@pytest.fixture(scope="module")
def llm() -> Iterator[ScriptedLLM]:
    """An OpenAI-compatible server with scripted replies, one per test module (tests script it)."""
    with openai_server.running() as state:
        yield state


@pytest.fixture(scope="module")
def smtp() -> Iterator[tuple[smtp_server.Inbox, int]]:
    """An SMTP server catching every message, one per test module; yields its inbox and port."""
    inbox, controller, port = smtp_server.start()
    yield inbox, port
    controller.stop()
