"""Retrieval quality of the failure memory on a labelled set of realistic handler failures.

Every bug in ``memory_cases.BUGS`` is remembered once and resolved; a later occurrence of the
same bug (other job id, values, wording, line numbers, sometimes another caller) must elect it,
and failures of bugs that are not in the memory must elect nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from smartworker.config import Settings
from smartworker.memory.database import EmbeddedPostgres
from smartworker.memory.embeddings import LocalEmbeddings
from smartworker.memory.store import MemoryStore

from .conftest import fresh_database
from .memory_cases import BUGS, NEGATIVES, build

pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="module")
async def store(embedded_pg: EmbeddedPostgres) -> AsyncIterator[MemoryStore]:
    """One memory for the module (embedding the set once takes a while on two cores)."""
    with fresh_database(embedded_pg) as dsn:
        opened = await MemoryStore.open(Settings(_env_file=None), provider=LocalEmbeddings(), dsn=dsn)  # type: ignore[call-arg]
        try:
            yield opened
        finally:
            await opened.close()


@pytest.fixture(scope="module")
async def filled(store: MemoryStore) -> dict[int, str]:
    """Every labelled bug stored and resolved: failure id -> bug key."""
    keys: dict[int, str] = {}
    for i, bug in enumerate(BUGS):
        ctx = build(bug, 0, f"stored-{i}")
        keys[await store.remember_failure(ctx)] = bug.key
        await store.remember_resolution(ctx.queue, ctx.job_id, f"fix for {bug.key}", "")
    return keys


async def test_labelled_set_is_big_enough() -> None:
    assert len(BUGS) >= 30
    assert len({b.key for b in BUGS + NEGATIVES}) == len(BUGS) + len(NEGATIVES)


async def test_same_bug_finds_its_twin(store: MemoryStore, filled: dict[int, str]) -> None:
    found, wrong = 0, []
    for i, bug in enumerate(BUGS):
        result = await store.search(build(bug, 1, f"query-{i}"))
        elected = filled[result.winner.failure.id] if result.winner else None
        if elected == bug.key:
            found += 1
            assert result.winner is not None and result.winner.failure.resolution_summary == f"fix for {bug.key}"
        elif elected is not None:
            wrong.append((bug.key, elected))
    recall = found / len(BUGS)
    print(f"memory recall@1 = {found}/{len(BUGS)} = {recall:.3f}")
    assert recall >= 0.9
    assert wrong == []  # a different bug must never be voted in


async def test_unknown_bugs_elect_nothing(store: MemoryStore, filled: dict[int, str]) -> None:
    elected = {}
    for i, bug in enumerate(NEGATIVES):
        result = await store.search(build(bug, 1, f"neg-{i}"), resolved_only=False)
        if result.winner is not None:
            elected[bug.key] = filled[result.winner.failure.id]
    assert elected == {}


async def test_other_bug_in_the_same_handler_is_not_voted_in(store: MemoryStore, filled: dict[int, str]) -> None:
    # Leave one of two bugs of import_orders out: its sibling shares job, data shape, code and the
    # outer frame, and must still not be elected.
    sibling = next(b for b in BUGS if b.key == "orders-qty-str")
    missing = next(b for b in BUGS if b.key == "orders-missing-sku")
    ids = [fid for fid, key in filled.items() if key == missing.key]
    await store.connection.execute("UPDATE failures SET resolved = false WHERE id = ANY(%s)", (ids,))
    try:
        result = await store.search(build(missing, 1, "sib-1"))  # resolved only: the twin is out
        assert result.winner is None
        assert any(filled[m.failure.id] == sibling.key for m in result.similar)  # seen, but not elected
    finally:
        await store.connection.execute("UPDATE failures SET resolved = true WHERE id = ANY(%s)", (ids,))


async def test_search_text_recall(store: MemoryStore, filled: dict[int, str]) -> None:
    # What a user pastes into POST /memory/search: the error line and the traceback.
    found = 0
    for i, bug in enumerate(BUGS):
        ctx = build(bug, 1, f"text-{i}")
        result = await store.search_text(f"{ctx.exception_type}: {ctx.message}", ctx.traceback, ctx.job_name)
        if result.winner and filled[result.winner.failure.id] == bug.key:
            found += 1
        elif result.winner:
            pytest.fail(f"{bug.key} elected {filled[result.winner.failure.id]}")
    print(f"search_text recall@1 = {found}/{len(BUGS)}")
    assert found / len(BUGS) >= 0.7
