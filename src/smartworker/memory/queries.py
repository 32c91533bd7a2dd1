"""The named queries of ``sql/queries.sql``, loaded once: ``QUERIES["search_chunks"].sql``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

_NAME = re.compile(r"^--\s*name:\s*(\w+)\s*$")


@dataclass(frozen=True)
class Query:
    """One named query with its one-line description."""

    name: str
    description: str
    sql: str


def parse_queries(text: str) -> dict[str, Query]:
    """Split a named-queries file into ``{name: Query}``; the line after ``-- name:`` describes it."""
    queries: dict[str, Query] = {}
    blocks: list[list[str]] = []
    for line in text.splitlines():
        if _NAME.match(line):
            blocks.append([line])
        elif blocks:
            blocks[-1].append(line)
    for block in blocks:
        match = _NAME.match(block[0])
        assert match is not None
        name = match.group(1)
        if len(block) < 2 or not block[1].startswith("--"):
            raise ValueError(f"query {name} has no one-line description")
        description = block[1].lstrip("-").strip()
        body = "\n".join(block[2:]).strip().rstrip(";").strip()
        if not body:
            raise ValueError(f"query {name} is empty")
        if name in queries:
            raise ValueError(f"query {name} is defined twice")
        queries[name] = Query(name, description, body)
    return queries


def _load() -> dict[str, Query]:
    text = resources.files("smartworker.memory").joinpath("sql", "queries.sql").read_text("utf-8")
    return parse_queries(text)


#: Every named query, by name.
QUERIES: dict[str, Query] = _load()


def q(name: str) -> str:
    """The SQL text of query ``name`` (from our package file, never from input)."""
    return QUERIES[name].sql
