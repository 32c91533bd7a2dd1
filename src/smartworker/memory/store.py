"""The failure memory: remember failures and their resolutions, find the past failure a new one repeats.

Life cycle::

    store = await MemoryStore.open(settings)      # connects (or starts embedded PG), migrates
    fid = await store.remember_failure(ctx)       # idempotent on (queue, job_id); repeats are counted
    result = await store.search(ctx)              # resolved twins only, for the LLM prompt
    await store.remember_resolution(ctx.queue, ctx.job_id, summary, diff)
    await store.close()

Search: every query chunk looks up its K nearest stored chunks of the same category through that
category's HNSW index (one SQL statement for all of them); hits are ranked by cosine distance
divided by the category weight; the top K vote for their failures (see ``vote.py``).

Occurrences: a failure of the same queue, job name, signature and failure locations as a stored one
is counted on that row (``occurrences``, ``last_seen``, a few ``sample_job_ids``) in one statement,
without embedding anything. Chunks are embedded through ``CachedEmbeddings``, so a search right
after storing (the resolver's order) reuses the vectors computed for storing.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import struct
from collections import defaultdict
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import psycopg
from psycopg import AsyncConnection
from psycopg.abc import Buffer
from psycopg.adapt import Dumper
from psycopg.pq import Format
from psycopg.rows import dict_row
from psycopg.types import TypeInfo
from psycopg.types.json import Jsonb

from smartworker.config import Settings
from smartworker.errors import FailureNotFoundError, MemoryStoreError, MemoryUnavailableError
from smartworker.memory.chunks import CATEGORIES, Chunk, build_chunks, text_chunks
from smartworker.memory.database import EmbeddedPostgres, resolve_database
from smartworker.memory.embeddings import CachedEmbeddings, EmbeddingProvider, make_provider
from smartworker.memory.migrations import MIGRATION_LOCK_KEY, migrate
from smartworker.memory.queries import q
from smartworker.memory.vote import Hit, decide, exception_type_of
from smartworker.metrics import observed_remember, observed_search
from smartworker.reasoning.context import FailureContext
from smartworker.reasoning.prompt import RejectedFix
from smartworker.shutdown import in_daemon_thread

#: hnsw.ef_search for searches: the candidate list per index scan. At 100,000 failures
#: (bench/memory.py) 40 gave recall@5 0.995 at p95 11-12 ms; 64 gave 1.000 at p95 17-19 ms.
EF_SEARCH = 40
#: Job ids kept on a failure row as examples of its occurrences (the newest first).
SAMPLE_JOB_IDS = 10


@dataclass(frozen=True)
class Evidence:
    """How one category supports a candidate failure."""

    category: str
    hits: int
    best_similarity: float
    content: str  #: the stored chunk text of the best hit


@dataclass(frozen=True)
class FailureRecord:
    """A stored failure (data, opts, reason and traceback were redacted before storing)."""

    id: int
    queue: str
    job_id: str
    name: str
    data: dict[str, Any]
    opts: dict[str, Any]
    exception_type: str
    reason: str
    traceback: str
    attempts: int
    signature: str
    signature_hash: str
    resolved: bool
    resolution_summary: str | None
    resolution_diff: str | None
    failed_at: datetime  #: when it first failed this way (``first_seen`` in the API)
    updated_at: datetime
    resolved_at: datetime | None
    occurrences: int = 1  #: how many failed jobs were counted on this row
    last_seen: datetime | None = None
    sample_job_ids: list[str] = field(default_factory=list)  #: the newest few, newest first

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form for the API."""
        out = asdict(self)
        out["first_seen"] = self.failed_at
        out["last_seen"] = self.last_seen or self.failed_at
        for key in ("failed_at", "updated_at", "resolved_at", "first_seen", "last_seen"):
            if out[key] is not None:
                out[key] = out[key].isoformat()
        return out


@dataclass(frozen=True)
class Match:
    """A past failure the hits point at."""

    failure: FailureRecord
    votes: int
    similarity: float  #: weight-averaged similarity of its hits, 0..1
    evidence: dict[str, Evidence]


@dataclass(frozen=True)
class SearchResult:
    """The outcome of a memory search."""

    winner: Match | None  #: set only on a strict majority of the top-K hits
    hits: list[Hit]  #: the top K hits, best first
    evidence: dict[str, Evidence] = field(default_factory=dict)  #: the winner's, per category
    similar: list[Match] = field(default_factory=list)  #: every failure hit, most votes first


_FAILURE_COLUMNS = (
    "id", "queue", "job_id", "name", "data", "opts", "exception_type", "reason", "traceback", "attempts",
    "signature", "signature_hash", "resolved", "resolution_summary", "resolution_diff", "failed_at",
    "updated_at", "resolved_at", "occurrences", "last_seen", "sample_job_ids",
)


def _record(row: Mapping[str, Any]) -> FailureRecord:
    return FailureRecord(**{name: row[name] for name in _FAILURE_COLUMNS})


def occurrence_key(queue: str, name: str, signature_hash: str, chunks: Sequence[Chunk]) -> str:
    """What makes two failures occurrences of one: queue, job name, signature and failure locations.

    The locations are the stored (redacted) ``failure_location`` chunk texts, in order; migration
    005 computes the same in SQL for rows stored before it.
    """
    text = f"{queue}\n{name}\n{signature_hash}" + "".join(
        f"\n{c.content}" for c in chunks if c.category == "failure_location")
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def context_key(ctx: FailureContext) -> str:
    """The occurrence key of a failure context (``remember_failure`` stores or counts it under it)."""
    _, redact_text = _redactors()
    chunks = [Chunk(c.category, redact_text(c.content)) for c in build_chunks(ctx)]
    return occurrence_key(ctx.queue, ctx.job_name, ctx.signature_hash, chunks)


def _redactors() -> tuple[Any, Any]:
    # Late import: redaction.py is a leaf module written alongside this one.
    from smartworker.redaction import redact, redact_text

    return redact, redact_text


def _evidence(hits: Sequence[Hit]) -> dict[str, Evidence]:
    groups: dict[str, list[Hit]] = defaultdict(list)
    for hit in hits:
        groups[hit.category].append(hit)
    out: dict[str, Evidence] = {}
    for category in CATEGORIES:
        if groups[category]:
            best = min(groups[category], key=lambda h: h.distance)
            out[category] = Evidence(category, len(groups[category]), round(best.similarity, 4), best.content)
    return out


def _similarity(hits: Sequence[Hit], weights: Mapping[str, float]) -> float:
    total = sum(weights[h.category] for h in hits)
    if total <= 0:
        return 0.0
    return round(sum(weights[h.category] * h.similarity for h in hits) / total, 4)


class MemoryStore:
    """Failures and resolutions in PostgreSQL + pgvector; one connection, used one call at a time."""

    def __init__(
        self,
        conn: AsyncConnection[Any],
        provider: EmbeddingProvider,
        settings: Settings,
        embedded: EmbeddedPostgres | None = None,
        dsn: str | None = None,
    ) -> None:
        self._conn = conn
        self._dsn = dsn
        # Each distinct chunk is embedded once: a storm repeats chunks, and a search follows a store.
        self._provider: CachedEmbeddings = (
            provider if isinstance(provider, CachedEmbeddings) else CachedEmbeddings(provider))
        self._settings = settings
        self._embedded = embedded
        self._lock = asyncio.Lock()
        self.weights: dict[str, float] = dict(settings.memory_weights)
        self.top_k = settings.memory_top_k

    # -- life cycle ---------------------------------------------------------------------------------
    @classmethod
    async def open(
        cls, settings: Settings, *, provider: EmbeddingProvider | None = None, dsn: str | None = None
    ) -> MemoryStore:
        """Connect (starting the embedded server when no database is configured) and migrate.

        Raises DimensionMismatchError when the database was filled by a model of another dimension.
        """
        embedded: EmbeddedPostgres | None = None
        if dsn is None:
            dsn, embedded = await asyncio.to_thread(resolve_database, settings)
        assert dsn is not None
        provider = provider or make_provider(settings)
        try:
            conn = await connect(dsn, settings.db_timeout_s)
        except psycopg.Error as exc:
            if embedded is not None:
                embedded.stop()
            raise MemoryStoreError(f"cannot connect to the memory database: {exc}") from exc
        try:
            dimension = await provider.dimension()
            await migrate(conn, dimension, provider.model_id)
        except BaseException:
            await conn.close()
            if embedded is not None:
                embedded.stop()
            raise
        return cls(conn, provider, settings, embedded, dsn)

    async def close(self) -> None:
        """Close the connection, the embedding provider and any embedded server we started."""
        await self._conn.close()
        await self._provider.aclose()
        if self._embedded is not None:
            await in_daemon_thread(self._embedded.stop)
            self._embedded = None

    @asynccontextmanager
    async def _use(self) -> AsyncIterator[AsyncConnection[Any]]:
        """The connection, one caller at a time, database errors as MemoryStoreError.

        A connection lost (server restart, terminated backend) fails that one call and is replaced
        on the next.
        """
        async with self._lock:
            try:
                # Bounded: a server that stopped answering (not refusing) would hold every caller.
                async with asyncio.timeout(self._settings.db_timeout_s * 2):
                    if self._conn.closed and self._dsn is not None:
                        self._conn = await connect(self._dsn, self._settings.db_timeout_s)
                    yield self._conn
            except TimeoutError:
                await self._conn.close()  # replaced on the next call
                raise MemoryUnavailableError(
                    f"the memory database did not answer within {self._settings.db_timeout_s * 2} s") from None
            except psycopg.OperationalError as exc:
                raise MemoryUnavailableError(f"the memory database is unavailable: {exc}") from exc
            except psycopg.Error as exc:
                raise MemoryStoreError(f"the memory database failed: {type(exc).__name__}: {exc}") from exc

    async def ping(self) -> bool:
        """True when the database answers; a lost connection is replaced first (health checks)."""
        for _ in range(2):  # the first try may only find that the server restarted since the last call
            try:
                async with self._use() as conn:
                    await conn.execute("SELECT 1")
                return True
            except MemoryStoreError:
                if not self._conn.closed:
                    return False
        return False

    @property
    def provider(self) -> CachedEmbeddings:
        """The embedding provider, behind its cache (counters for tools and tests)."""
        return self._provider

    @property
    def connection(self) -> AsyncConnection[Any]:
        """The underlying connection (tests and tools)."""
        return self._conn

    # -- writing ------------------------------------------------------------------------------------
    @observed_remember
    async def remember_failure(self, ctx: FailureContext) -> int:
        """Store a final failure and its embedded chunks, or count it as an occurrence of the stored
        failure with the same queue, job name, signature and locations; returns the row's id.

        The same (queue, job_id) again is counted once (a retried ``remember``).
        """
        redact, redact_text = _redactors()
        chunks = [Chunk(c.category, redact_text(c.content)) for c in build_chunks(ctx)]
        job_id = str(ctx.job_id)
        key = occurrence_key(ctx.queue, ctx.job_name, ctx.signature_hash, chunks)
        # The common case in a storm: one statement, nothing embedded.
        failure_id = await self.count_occurrence(ctx.queue, job_id, key)
        if failure_id is not None:
            await self._load_vectors(failure_id, [c.content for c in chunks])
            return failure_id
        vectors = await self._provider.embed([c.content for c in chunks])
        params = {
            "queue": ctx.queue,
            "job_id": job_id,
            "name": ctx.job_name,
            "data": Jsonb(_jsonable(redact(ctx.data))),
            "opts": Jsonb(_jsonable(redact(ctx.opts))),
            "exception_type": ctx.exception_type,
            "reason": redact_text(ctx.message),
            "traceback": redact_text(ctx.traceback),
            "attempts": ctx.attempts,
            "signature": redact_text(ctx.signature),
            "signature_hash": ctx.signature_hash,
            "key": key,
            "samples": SAMPLE_JOB_IDS,
        }
        async with self._use() as conn, conn.transaction():
            cur = await conn.execute(q("insert_failure"), params)
            row = await cur.fetchone()
            assert row is not None
            failure_id, inserted = int(row[0]), bool(row[1])
            await conn.execute(q("map_job"), {"queue": ctx.queue, "job_id": job_id, "failure_id": failure_id})
            if inserted:  # else another caller stored this failure meanwhile: counted on its row
                async with conn.cursor() as cur:
                    await cur.executemany(
                        q("insert_chunk"),
                        [
                            {
                                "failure_id": failure_id,
                                "category": c.category,
                                "weight": self.weights[c.category],
                                "content": c.content,
                                "embedding": vec,
                            }
                            for c, vec in zip(chunks, vectors, strict=True)
                        ],
                    )
        return failure_id

    async def count_occurrence(self, queue: str, job_id: str, key: str) -> int | None:
        """Count the failure of (queue, job_id) on the stored failure with occurrence key ``key``
        (once per job); its id, or None when no failure has that key."""
        async with self._use() as conn:
            cur = await conn.execute(q("count_occurrence"),
                                     {"queue": queue, "job_id": str(job_id), "key": key, "samples": SAMPLE_JOB_IDS})
            row = await cur.fetchone()
        return int(row[0]) if row is not None else None

    async def count_occurrences(self, failures: Sequence[tuple[str, str, str]]) -> list[int | None]:
        """``count_occurrence`` of many (queue, job_id, key) in one statement, results in order."""
        if not failures:
            return []
        params = {"queues": [f[0] for f in failures], "job_ids": [str(f[1]) for f in failures],
                  "keys": [f[2] for f in failures], "samples": SAMPLE_JOB_IDS}
        async with self._use() as conn:
            cur = await conn.execute(q("count_occurrences"), params)
            rows = await cur.fetchall()
        return [int(r[1]) if r[1] is not None else None for r in rows]

    async def _load_vectors(self, failure_id: int, texts: Sequence[str]) -> None:
        """Put the stored vectors of a failure's chunks in the cache when it lacks some of ``texts``:
        the search that follows storing (the resolver's order) then embeds only what differs."""
        wanted = self._provider.missing(texts)
        if not wanted:
            return
        async with self._use() as conn:
            cur = await conn.execute(q("chunk_vectors"), {"failure_id": failure_id, "contents": wanted})
            rows = await cur.fetchall()
        # pgvector's loader gives its Vector type (binary results) or a numpy array (text results).
        self._provider.seed([str(r[0]) for r in rows],
                            [np.asarray(r[1].to_numpy() if hasattr(r[1], "to_numpy") else r[1]) for r in rows])

    async def remember_resolution(self, queue: str, job_id: str, summary: str, diff: str) -> int:
        """Record how the failure of (queue, job_id) was resolved; raises FailureNotFoundError."""
        _, redact_text = _redactors()
        async with self._use() as conn:
            cur = await conn.execute(
                q("resolve_failure"),
                {
                    "queue": queue,
                    "job_id": str(job_id),
                    "summary": redact_text(summary),
                    "diff": redact_text(diff),
                },
            )
            row = await cur.fetchone()
        if row is None:
            raise FailureNotFoundError(f"no remembered failure for job {job_id} on queue {queue}")
        return int(row[0])

    async def remember_rejection(self, fix: Mapping[str, str], reason: str, by: str) -> None:
        """Store a fix a person rejected (keys: fix_id, queue, job_id, name, signature, summary, diff)
        with the reason, and take back the resolution that fix had given its failure."""
        _, redact_text = _redactors()
        diff = redact_text(fix.get("diff", ""))
        async with self._use() as conn, conn.transaction():
            await conn.execute(q("reject_fix"), {
                "fix_id": fix["fix_id"], "name": fix["name"], "signature": fix["signature"],
                "reason": redact_text(reason), "summary": redact_text(fix.get("summary", "")), "diff": diff,
                "by": by})
            await conn.execute(q("unresolve_failure"), {"queue": fix["queue"], "job_id": str(fix["job_id"]),
                                                        "diff": diff})

    async def rejected_fixes(self, name: str, signature: str, limit: int = 3) -> list[RejectedFix]:
        """The newest fixes people rejected for this handler and signature, for the prompt."""
        async with self._use() as conn:
            cur = await conn.execute(q("rejected_fixes"), {"name": name, "signature": signature, "limit": limit})
            rows = await cur.fetchall()
        return [RejectedFix(reason=str(r[0]), summary=str(r[1]), diff=str(r[2])) for r in rows]

    # -- reading ------------------------------------------------------------------------------------
    @observed_search
    async def search(
        self, query: FailureContext | str, *, resolved_only: bool = True, k: int | None = None
    ) -> SearchResult:
        """Past failures like ``query`` (a context, or an error text).

        By default only resolved failures take part: the resolver wants a past resolution. The
        failure of the same (queue, job_id) never matches itself.
        """
        if isinstance(query, str):
            return await self.search_text(query, resolved_only=resolved_only, k=k)
        _, redact_text = _redactors()
        chunks = [Chunk(c.category, redact_text(c.content)) for c in build_chunks(query)]
        return await self._search(
            chunks, resolved_only, k, query.queue, str(query.job_id), query.exception_type or None
        )

    async def search_text(
        self,
        error: str,
        traceback: str | None = None,
        job_name: str | None = None,
        *,
        resolved_only: bool = False,
        k: int | None = None,
    ) -> SearchResult:
        """Search by an error line, maybe a printed traceback and a job name (``POST /memory/search``)."""
        chunks = text_chunks(error, traceback, job_name)
        return await self._search(chunks, resolved_only, k, "", "", exception_type_of(error))

    async def _search(
        self,
        chunks: Sequence[Chunk],
        resolved_only: bool,
        k: int | None,
        queue: str,
        job_id: str,
        query_type: str | None,
    ) -> SearchResult:
        top_k = k or self.top_k
        vectors = await self._provider.embed([c.content for c in chunks])
        params: dict[str, Any] = {c: [] for c in CATEGORIES}
        for chunk, vec in zip(chunks, vectors, strict=True):
            params[chunk.category].append(vec)
        params.update(
            {f"w_{c}": self.weights[c] for c in CATEGORIES}
            | {"k": top_k, "resolved_only": resolved_only, "queue": queue, "job_id": job_id}
        )
        async with self._use() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(q("search_chunks"), params)
            rows = await cur.fetchall()
        hits = [Hit(int(r["chunk_id"]), int(r["failure_id"]), str(r["category"]), str(r["content"]),
                    float(r["distance"]), float(r["weighted"])) for r in rows]
        records = {int(r["id"]): _record(r) for r in rows}
        types = {fid: rec.exception_type for fid, rec in records.items()}
        winner_id, counts = decide(hits, types, query_type)
        similar = []
        for fid, votes in counts:
            own = [h for h in hits if h.failure_id == fid]
            if fid in records:
                similar.append(Match(records[fid], votes, _similarity(own, self.weights), _evidence(own)))
        winner = next((m for m in similar if m.failure.id == winner_id), None)
        return SearchResult(winner, hits, winner.evidence if winner else {}, similar)

    async def get_failure(self, failure_id: int) -> FailureRecord:
        """One failure; raises FailureNotFoundError."""
        async with self._use() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(q("get_failure"), {"id": failure_id})
            row = await cur.fetchone()
        if row is None:
            raise FailureNotFoundError(f"no failure {failure_id}")
        return _record(row)

    async def list_failures(
        self, signature: str | None = None, resolved: bool | None = None, page: int = 1, size: int = 20
    ) -> tuple[int, list[FailureRecord]]:
        """(total matching, one page newest first); pages count from 1."""
        page, size = max(1, page), max(1, min(size, 500))
        params = {"signature": signature, "resolved": resolved, "limit": size, "offset": (page - 1) * size}
        async with self._use() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(q("list_failures"), params)
            rows = await cur.fetchall()
            if rows:
                total = int(rows[0]["total"])
            else:
                await cur.execute(q("count_failures"), params)
                counted = await cur.fetchone()
                total = int(counted["count"]) if counted else 0
        return total, [_record(r) for r in rows]


def _jsonable(value: Any) -> Any:
    # Job data came through JSON, but a redactor may hand back tuples or other plain types.
    return json.loads(json.dumps(value, default=str))


def fast_vector_dumper(oid: int) -> type[Dumper]:
    """A binary dumper of numpy rows as pgvector ``vector`` (pgvector's own goes through Python floats)."""

    class NumpyVectorDumper(Dumper):
        format = Format.BINARY

        def dump(self, obj: Any) -> Buffer:
            # pgvector's binary form: dimension and a reserved word (uint16 each), float4 values, big-endian.
            values = np.ascontiguousarray(obj, dtype=">f4")
            return struct.pack(">HH", values.shape[0], 0) + values.tobytes()

    NumpyVectorDumper.oid = oid
    return NumpyVectorDumper


async def connect(dsn: str, timeout_s: int = 10) -> AsyncConnection[Any]:
    """An autocommit connection with the vector type registered and search settings applied."""
    from pgvector.psycopg import register_vector_async

    conn = await AsyncConnection.connect(dsn, autocommit=True, connect_timeout=max(2, timeout_s))
    try:
        # The type must exist before the adapter can look it up; migrations also create it. Under
        # the migrations' lock: an `api` and a `worker` starting together on a fresh database both
        # tried to create it, and the loser's unique violation stopped it.
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK_KEY,))
            await conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        await register_vector_async(conn)
        info = await TypeInfo.fetch(conn, "vector")
        assert info is not None
        conn.adapters.register_dumper(np.ndarray, fast_vector_dumper(info.oid))
        # relaxed_order: a filtered scan (resolved only) keeps walking the graph until it has K
        # rows instead of returning fewer; the outer query re-sorts anyway.
        await conn.execute("SET hnsw.iterative_scan = relaxed_order")
        await conn.execute("SELECT set_config('hnsw.ef_search', %s, false)", (str(EF_SEARCH),))
    except BaseException:
        await conn.close()
        raise
    return conn

