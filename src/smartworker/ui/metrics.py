"""Jobs completed and failed per minute over the last hour, from BullMQ's own metrics.

A worker started with the ``metrics`` option counts finished jobs per minute inside the script
that finishes them (Node BullMQ's ``Queue.getMetrics`` reads the same keys; bullmq 3.4.4 for
Python writes them but has no reader, so this is one). Layout: ``<prefix>:<queue>:metrics:<kind>``
is a hash {count, prevTS, prevCount}; ``…:data`` a list of per-minute counts, newest first, whose
head is the minute before ``prevTS``. The minute of ``prevTS`` is still open: ``count - prevCount``.
"""

from __future__ import annotations

from dataclasses import dataclass

import redis.asyncio as aioredis

#: Minutes the chart shows.
WINDOW = 60
KINDS = ("completed", "failed")


@dataclass(frozen=True)
class Series:
    """Per-minute counts for the last ``WINDOW`` minutes, oldest first."""

    completed: list[int]
    failed: list[int]
    end_minute: int  #: the minute (epoch minutes) of the last point

    @property
    def totals(self) -> tuple[int, int]:
        """(completed, failed) over the window."""
        return sum(self.completed), sum(self.failed)

    @property
    def peak(self) -> int:
        """The largest minute, at least 1 (the chart's scale)."""
        return max([1, *(c + f for c, f in zip(self.completed, self.failed, strict=True))])


def minutes(count: int | None, prev_ts: int | None, prev_count: int | None, data: list[int], now_ms: int,
            window: int = WINDOW) -> list[int]:
    """The last ``window`` minutes up to ``now_ms``, oldest first, from one metrics hash and list."""
    now_minute = now_ms // 60_000
    out = [0] * window
    if prev_ts is None:
        return out
    open_minute = prev_ts // 60_000
    for i in range(window):
        minute = now_minute - (window - 1 - i)
        if minute == open_minute:
            out[i] = max(0, (count or 0) - (prev_count or 0))
        elif minute < open_minute:
            index = open_minute - 1 - minute
            out[i] = data[index] if index < len(data) else 0
    return out


def _int(value: object) -> int | None:
    try:
        return int(str(value)) if value is not None else None
    except ValueError:
        return None


async def last_hour(redis: aioredis.Redis, prefix: str, queue: str, now_ms: int) -> Series:
    """Completed and failed jobs per minute of ``queue`` over the last hour."""
    pipe = redis.pipeline(transaction=False)
    for kind in KINDS:
        key = f"{prefix}:{queue}:metrics:{kind}"
        pipe.hmget(key, ["count", "prevTS", "prevCount"])
        pipe.lrange(key + ":data", 0, WINDOW)
    hash_c, data_c, hash_f, data_f = await pipe.execute()
    series = {}
    for kind, (count, prev_ts, prev_count), data in (("completed", hash_c, data_c), ("failed", hash_f, data_f)):
        points = [_int(x) or 0 for x in data]
        series[kind] = minutes(_int(count), _int(prev_ts), _int(prev_count), points, now_ms)
    return Series(series["completed"], series["failed"], now_ms // 60_000)
