"""Handlers for bench/throughput.py's storm runs: one that succeeds, one that always fails."""

from __future__ import annotations

from typing import Any

from smartworker import handler


@handler("ok")
async def ok(data: dict[str, Any]) -> None:
    return None


@handler("fails")
async def fails(data: dict[str, Any]) -> None:
    # One bug, many jobs: a storm repeats the same failure (same signature and location).
    raise ValueError(f"order {data.get('order')} has no customer")
