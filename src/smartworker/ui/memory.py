"""Reading the failure memory for the pages: similar failures to a pasted error, failures grouped by
signature. Stored failures were redacted when they were remembered; they are redacted again on the
way out, as everything a page shows is."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from psycopg.rows import dict_row

from smartworker.redaction import redact_text

if TYPE_CHECKING:
    from psycopg import AsyncConnection

    from smartworker.memory.interface import FailureMemory
    from smartworker.memory.store import Match

#: Signatures, most frequent first: how often each failed (every occurrence counted on a row), how
#: often it was resolved, and the latest resolution summary.
GROUPS_SQL = """
SELECT signature, name, sum(occurrences) AS failures, sum(occurrences) FILTER (WHERE resolved) AS resolved,
       max(last_seen) AS last_failed,
       (array_agg(resolution_summary ORDER BY resolved_at DESC NULLS LAST))[1] AS resolution
  FROM failures
 GROUP BY signature, name
 ORDER BY sum(occurrences) DESC, max(last_seen) DESC
 LIMIT %(limit)s
"""
#: How many failures (occurrences) share each of the given signature hashes.
COUNTS_SQL = """
SELECT signature_hash, sum(occurrences) AS failures
  FROM failures
 WHERE signature_hash = ANY(%(hashes)s)
 GROUP BY signature_hash
"""


@dataclass(frozen=True)
class Group:
    """Remembered failures that share a signature."""

    signature: str
    name: str
    failures: int
    resolved: int
    last_failed: datetime | None
    resolution: str


@dataclass(frozen=True)
class Similar:
    """A past failure like the pasted one."""

    failure_id: int
    queue: str
    job_id: str
    name: str
    signature: str
    similarity: float
    votes: int
    winner: bool
    resolved: bool
    resolution: str
    diff: str
    reason: str


def _connection(store: FailureMemory) -> AsyncConnection[Any]:
    """The PostgreSQL connection behind the memory: these summaries are SQL of the dashboard's own."""
    from smartworker.memory.store import MemoryStore

    if not isinstance(store, MemoryStore):
        raise TypeError("the dashboard's memory summaries need the PostgreSQL store")
    return store.connection


async def groups(store: FailureMemory, limit: int = 50) -> list[Group]:
    """The most frequent failure signatures."""
    async with _connection(store).cursor(row_factory=dict_row) as cur:
        await cur.execute(GROUPS_SQL, {"limit": limit})
        rows = await cur.fetchall()
    return [Group(redact_text(r["signature"]), redact_text(r["name"]), int(r["failures"]), int(r["resolved"] or 0),
                  r["last_failed"], redact_text(r["resolution"] or "")) for r in rows]


async def counts(store: FailureMemory, hashes: list[str]) -> dict[str, int]:
    """How many remembered failures share each signature hash."""
    if not hashes:
        return {}
    async with _connection(store).cursor(row_factory=dict_row) as cur:
        await cur.execute(COUNTS_SQL, {"hashes": hashes})
        rows = await cur.fetchall()
    return {str(r["signature_hash"]): int(r["failures"]) for r in rows}


def _similar(match: Match, winner_id: int | None) -> Similar:
    f = match.failure
    return Similar(
        failure_id=f.id,
        queue=f.queue,
        job_id=f.job_id,
        name=redact_text(f.name),
        signature=redact_text(f.signature),
        similarity=round(match.similarity, 3),
        votes=match.votes,
        winner=f.id == winner_id,
        resolved=f.resolved,
        resolution=redact_text(f.resolution_summary or ""),
        diff=redact_text(f.resolution_diff or ""),
        reason=redact_text(f.reason),
    )


async def similar(store: FailureMemory, error: str, traceback: str | None, job_name: str | None) -> list[Similar]:
    """Past failures like the pasted error, the elected one first."""
    found = await store.search_text(error, traceback or None, job_name or None, resolved_only=False)
    winner_id = found.winner.failure.id if found.winner else None
    out = [_similar(m, winner_id) for m in found.similar]
    return sorted(out, key=lambda s: (not s.winner, -s.votes, -s.similarity))
