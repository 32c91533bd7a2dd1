"""Numbered SQL migrations (``sql/NNN_name.sql``), applied once each and recorded in ``schema_migrations``.

The embedding dimension is part of the schema (``vector(D)``), so it is substituted into the
migrations and kept in ``memory_meta``; a model with another dimension stops the start-up.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any

from psycopg import AsyncConnection

from smartworker.errors import DimensionMismatchError, MemoryStoreError

_log = logging.getLogger(__name__)

_FILE = re.compile(r"^(\d{3})_(\w+)\.sql$")
#: Placeholder for the embedding dimension inside migration files.
DIMENSION_TOKEN = "@DIMENSION@"  # noqa: S105 - a placeholder, not a password
#: pg_advisory_xact_lock key: a worker and the API starting together must not both migrate.
MIGRATION_LOCK_KEY = 0x5357_4D45_4D00  # "SWMEM"


@dataclass(frozen=True)
class Migration:
    """One numbered migration file."""

    version: int
    name: str
    sql: str

    def render(self, dimension: int) -> str:
        """The SQL with the embedding dimension filled in."""
        return self.sql.replace(DIMENSION_TOKEN, str(int(dimension)))


def load_migrations() -> list[Migration]:
    """Every ``sql/NNN_*.sql`` file, in version order."""
    found: list[Migration] = []
    for entry in resources.files("smartworker.memory").joinpath("sql").iterdir():
        match = _FILE.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), match.group(2), entry.read_text("utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise MemoryStoreError(f"two migrations share a version number: {versions}")
    return found


def migration(name: str) -> Migration:
    """The migration called ``name`` (e.g. ``hnsw_indexes``), for tools that rebuild a part of the schema."""
    for m in load_migrations():
        if m.name == name:
            return m
    raise KeyError(name)


async def stored_dimension(conn: AsyncConnection[Any]) -> tuple[int, str] | None:
    """(dimension, model) recorded in the database, or None before the first migration."""
    cur = await conn.execute("SELECT to_regclass('memory_meta') IS NOT NULL")
    row = await cur.fetchone()
    if not row or not row[0]:
        return None
    cur = await conn.execute(
        "SELECT max(value) FILTER (WHERE key = 'embedding_dimension'),"
        " max(value) FILTER (WHERE key = 'embedding_model') FROM memory_meta"
    )
    meta = await cur.fetchone()
    if meta is None or meta[0] is None:
        return None
    return int(str(meta[0])), str(meta[1] or "")


async def migrate(conn: AsyncConnection[Any], dimension: int, model: str) -> list[int]:
    """Apply pending migrations in one transaction; return the versions applied (empty when current).

    Raises DimensionMismatchError when the database holds vectors of another dimension.
    """
    applied: list[int] = []
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK_KEY,))
        stored = await stored_dimension(conn)
        if stored is not None and stored[0] != dimension:
            raise DimensionMismatchError(
                f"the memory database stores {stored[0]}-d embeddings (model {stored[1] or '?'}) but "
                f"{model} gives {dimension}-d: set AI_EMBEDDING_PROVIDER/AI_EMBEDDING_MODEL back to "
                f"that model, or point DATABASE_URL at a new database to start an empty memory"
            )
        if stored is not None and stored[1] and stored[1] != model:
            # Same dimension, another model: distances between the two spaces mean little.
            _log.warning("memory embeddings were made by %s, now using %s", stored[1], model)
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version integer PRIMARY KEY, name text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        cur = await conn.execute("SELECT version FROM schema_migrations")
        done = {int(str(r[0])) for r in await cur.fetchall()}
        for m in load_migrations():
            if m.version in done:
                continue
            await conn.execute(m.render(dimension).encode())
            await conn.execute(
                "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)", (m.version, m.name)
            )
            applied.append(m.version)
        await conn.execute(
            "INSERT INTO memory_meta (key, value) VALUES ('embedding_dimension', %s), ('embedding_model', %s)"
            " ON CONFLICT (key) DO NOTHING",
            (str(dimension), model),
        )
    if applied:
        _log.debug("memory migrations applied: %s", applied)
    return applied
