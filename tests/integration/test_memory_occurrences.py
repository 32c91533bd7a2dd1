"""Occurrences and the embedding cache of the failure memory, on a real PostgreSQL + pgvector."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import httpx
import pytest

from smartworker.errors import FailureNotFoundError
from smartworker.memory.embeddings import _load_model
from smartworker.memory.migrations import load_migrations
from smartworker.memory.store import SAMPLE_JOB_IDS, MemoryStore, connect
from smartworker.reasoning.context import Location

from .memory_cases import BUGS, build


async def _count(store: MemoryStore, sql: str, *args: Any) -> int:
    cur = await store.connection.execute(sql, args)
    row = await cur.fetchone()
    assert row is not None
    return int(row[0])


async def test_the_same_failure_twice_is_one_row_counted_twice(store: MemoryStore) -> None:
    first = build(BUGS[0], 0, "job-1")
    fid = await store.remember_failure(first)
    embedded = store.provider.embedded
    # Another job failing the same way, with other data and other values in the message.
    again = replace(build(BUGS[0], 0, "job-2"), data={"user": {"id": 7}})
    assert await store.remember_failure(again) == fid
    assert store.provider.embedded == embedded  # a repeat embeds nothing
    assert await _count(store, "SELECT count(*) FROM failures") == 1
    assert await _count(store, "SELECT count(*) FROM failure_chunks") == 4  # stored once

    record = await store.get_failure(fid)
    assert record.occurrences == 2
    assert record.job_id == "job-1" and record.sample_job_ids == ["job-2", "job-1"]
    assert record.last_seen is not None and record.last_seen > record.failed_at
    shown = record.to_dict()
    assert shown["occurrences"] == 2 and shown["first_seen"] == shown["failed_at"]

    # A retried remember of a job already counted counts nothing more.
    assert await store.remember_failure(again) == fid
    assert (await store.get_failure(fid)).occurrences == 2


async def test_another_location_is_a_new_row(store: MemoryStore) -> None:
    ctx = build(BUGS[0], 0, "job-1")
    fid = await store.remember_failure(ctx)
    moved = replace(build(BUGS[0], 0, "job-2"),
                    locations=[Location("app/other.py", 3, "elsewhere", "value = data['user']['email']")])
    other = await store.remember_failure(moved)
    assert other != fid
    assert (await store.get_failure(fid)).occurrences == 1
    assert (await store.get_failure(other)).occurrences == 1
    # Another signature in the same place is another failure too.
    assert await store.remember_failure(build(BUGS[1], 0, "job-3")) not in (fid, other)
    assert await _count(store, "SELECT count(*) FROM failures") == 3


async def test_any_occurrence_can_be_resolved_and_samples_are_bounded(store: MemoryStore) -> None:
    fid = await store.remember_failure(build(BUGS[2], 0, "j0"))
    for i in range(1, SAMPLE_JOB_IDS + 5):
        assert await store.remember_failure(build(BUGS[2], 0, f"j{i}")) == fid
    record = await store.get_failure(fid)
    assert record.occurrences == SAMPLE_JOB_IDS + 5
    assert record.sample_job_ids == [f"j{i}" for i in range(SAMPLE_JOB_IDS + 4, 4, -1)]
    # The resolution of a job counted on the row (not in the samples any more) resolves the row.
    assert await store.remember_resolution("jobs", "j2", "guard it", "diff") == fid
    assert (await store.get_failure(fid)).resolved
    with pytest.raises(FailureNotFoundError):
        await store.remember_resolution("jobs", "never-failed", "x", "y")


async def test_a_search_right_after_storing_embeds_nothing(store: MemoryStore) -> None:
    ctx = build(BUGS[3], 0, "s1")
    await store.remember_failure(ctx)
    embedded = store.provider.embedded
    await store.search(ctx)
    assert store.provider.embedded == embedded


async def test_an_occurrence_stored_by_another_process_is_searched_with_its_stored_vectors(
        store: MemoryStore, database_dsn: str, memory_settings: Any) -> None:
    ctx = build(BUGS[4], 0, "a1")
    fid = await store.remember_failure(ctx)
    other = await MemoryStore.open(memory_settings, dsn=database_dsn)  # a second worker, empty cache
    try:
        assert await other.remember_failure(build(BUGS[4], 0, "a2")) == fid
        await other.search(build(BUGS[4], 0, "a2"))
        assert other.provider.embedded == 0  # the stored vectors were read back, not recomputed
    finally:
        await other.close()


async def test_rows_from_before_the_migration_get_keys_and_their_jobs(database_dsn: str,
                                                                      memory_settings: Any) -> None:
    conn = await connect(database_dsn)
    try:
        async with conn.transaction():
            await conn.execute("CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL,"
                               " applied_at timestamptz NOT NULL DEFAULT now())")
            for m in load_migrations():
                if m.version < 5:
                    await conn.execute(m.render(384).encode())
                    await conn.execute("INSERT INTO schema_migrations VALUES (%s, %s)", (m.version, m.name))
            await conn.execute("INSERT INTO memory_meta VALUES ('embedding_dimension', '384'),"
                               " ('embedding_model', 'all-MiniLM-L6-v2-onnx-int8')")
            # Two rows of one failure, stored before occurrences existed (chunks as the old store wrote them).
            for job in ("old-1", "old-2"):
                cur = await conn.execute(
                    "INSERT INTO failures (queue, job_id, name, signature, signature_hash)"
                    " VALUES ('jobs', %s, 'sync', 'KeyError: x', 'h1') RETURNING id", (job,))
                row = await cur.fetchone()
                assert row is not None
                await conn.execute(
                    "INSERT INTO failure_chunks (failure_id, category, weight, content, embedding)"
                    " VALUES (%s, 'failure_location', 2, 'app/a.py:f: x = d[1]', %s::vector)",
                    (row[0], "[" + ",".join(["0.1"] * 384) + "]"))
    finally:
        await conn.close()
    store = await MemoryStore.open(memory_settings, dsn=database_dsn)
    try:
        cur = await store.connection.execute("SELECT job_id, occurrence_key IS NOT NULL FROM failures ORDER BY id")
        assert await cur.fetchall() == [("old-1", True), ("old-2", False)]
        assert await _count(store, "SELECT count(*) FROM failure_jobs") == 2
        # The key the migration computed is the one the store computes: a new occurrence counts there.
        from smartworker.memory.chunks import Chunk
        from smartworker.memory.store import occurrence_key

        key = occurrence_key("jobs", "sync", "h1", [Chunk("failure_location", "app/a.py:f: x = d[1]")])
        assert await _count(store, "SELECT count(*) FROM failures WHERE occurrence_key = %s AND job_id = %s",
                            key, "old-1") == 1
        assert await store.remember_resolution("jobs", "old-2", "fixed", "") > 0
    finally:
        await store.close()


def test_the_local_model_runs_on_one_thread_without_spinning() -> None:
    options = _load_model().session.get_session_options()
    assert options.intra_op_num_threads == 1 and options.inter_op_num_threads == 1
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    assert options.get_session_config_entry("session.inter_op.allow_spinning") == "0"


async def test_failures_api_shows_how_often(store: MemoryStore, client: httpx.AsyncClient, service: Any) -> None:
    service.memory = store
    for i in range(3):
        await store.remember_failure(build(BUGS[0], 0, f"api-{i}"))
    await store.remember_failure(build(BUGS[1], 0, "api-other"))
    page = (await client.get("/failures")).json()
    assert page["total"] == 2
    counts = {f["job_id"]: f["occurrences"] for f in page["failures"]}
    assert counts == {"api-0": 3, "api-other": 1}
    repeated = next(f for f in page["failures"] if f["job_id"] == "api-0")
    assert repeated["sample_job_ids"] == ["api-2", "api-1", "api-0"]
    assert repeated["first_seen"] <= repeated["last_seen"]
    one = (await client.get(f"/failures/{repeated['id']}")).json()
    assert one["occurrences"] == 3 and one["first_seen"] == repeated["first_seen"]
    spec = (await client.get("/openapi.json")).json()
    view = spec["components"]["schemas"]["FailureView"]
    assert {"occurrences", "first_seen", "last_seen", "sample_job_ids"} <= set(view["required"])


def test_texts_batched_by_length_embed_as_they_do_alone() -> None:
    from smartworker.memory.embeddings import embed_local

    texts = ["KeyError: 'email'", "app/a.py:send: address = user['email']",
             "address = user['email']\n--\ndef send(data):\n    user = data['user']\n    address = user['email']\n"
             "    return mailer.send(address)", "job send data {user: object}"]
    together = embed_local(texts)
    alone = [embed_local([t])[0] for t in texts]
    for row, single in zip(together, alone, strict=True):
        assert float(row @ single) > 0.9999


async def test_intake_counts_a_repeat_without_extracting_it(store: MemoryStore, memory_settings: Any) -> None:
    from smartworker.memory.intake import Intake
    from smartworker.queues import DeadJob

    def dead(job_id: str, key: str = "email", line: int = 12) -> DeadJob:
        tb = ("Traceback (most recent call last):\n"
              f'  File "/srv/app/signup.py", line {line}, in send\n'
              f"    address = user['{key}']\n"
              f"KeyError: '{key}'")
        return DeadJob(id=f"dlq-{job_id}", name="signup", data={"user": {}}, opts={}, queue="jobs", job_id=job_id,
                       failed_reason=f"'{key}'", stacktrace=[tb], attempts_made=1, timestamp=0,
                       processed_on=None, finished_on=None, moved_on=0)

    intake = Intake(store, memory_settings)
    fid = await intake.remember(dead("k1"))
    assert await intake.remember(dead("k2")) == fid
    assert await intake.remember(dead("k3", line=40)) == fid  # moved by an edit above it: the same failure
    assert (intake.fast, intake.full) == (2, 1)
    assert (await store.get_failure(fid)).occurrences == 3
    other = await intake.remember(dead("k4", key="name"))
    assert other != fid and intake.full == 2
    # A process that never saw the failure extracts it once, then counts it on the same row.
    fresh = Intake(store, memory_settings)
    assert await fresh.remember(dead("k5")) == fid and (fresh.fast, fresh.full) == (0, 1)
    assert (await store.get_failure(fid)).occurrences == 4


async def test_repeats_counted_together_count_each_job_once(store: MemoryStore) -> None:
    from smartworker.memory.store import context_key

    first, second = build(BUGS[0], 0, "b0"), build(BUGS[1], 0, "c0")
    f1, f2 = await store.remember_failure(first), await store.remember_failure(second)
    k1, k2 = context_key(first), context_key(second)
    found = await store.count_occurrences([("jobs", "b1", k1), ("jobs", "c1", k2), ("jobs", "b2", k1),
                                          ("jobs", "b1", k1), ("jobs", "b0", k1), ("jobs", "x1", "no-such-key")])
    assert found == [f1, f2, f1, f1, f1, None]
    one, two = await store.get_failure(f1), await store.get_failure(f2)
    assert one.occurrences == 3 and one.sample_job_ids == ["b2", "b1", "b0"]  # b1 once, b0 already counted
    assert two.occurrences == 2
    assert await store.remember_resolution("jobs", "b2", "fixed", "") == f1


async def test_concurrent_repeats_through_the_intake(store: MemoryStore, memory_settings: Any) -> None:
    import asyncio

    from smartworker.memory.intake import Intake
    from smartworker.queues import DeadJob

    ctx = build(BUGS[0], 0, "seed")
    tb = ctx.traceback

    def dead(job_id: str) -> DeadJob:
        return DeadJob(id=f"dlq-{job_id}", name=ctx.job_name, data={}, opts={}, queue="jobs", job_id=job_id,
                       failed_reason=ctx.message, stacktrace=[tb], attempts_made=1, timestamp=0,
                       processed_on=None, finished_on=None, moved_on=0)

    intake = Intake(store, memory_settings)
    fid = await intake.remember(dead("r0"))
    ids = await asyncio.gather(*(intake.remember(dead(f"r{i}")) for i in range(1, 41)))
    assert set(ids) == {fid} and intake.fast == 40
    assert (await store.get_failure(fid)).occurrences == 41
    assert await _count(store, "SELECT count(*) FROM failure_jobs WHERE failure_id = %s", fid) == 41
