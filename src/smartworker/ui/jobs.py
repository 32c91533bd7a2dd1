"""Reading any BullMQ queue for the pages: counts per state, a page of jobs, search, one job.

Reads BullMQ's Redis layout (``<prefix>:<queue>:<state>`` lists and sorted sets, one hash per job)
with one pipeline per page, so a queue of any size costs the same to show, and a queue a Node
producer created is read like ours. Everything returned is redacted.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis

from smartworker.redaction import redact, redact_text

#: Every state a BullMQ job can be in, in the order the pages list them.
STATES: tuple[str, ...] = ("waiting", "active", "delayed", "prioritized", "completed", "failed", "paused",
                           "waiting-children")
#: States kept in Redis lists (newest at the left); the others are sorted sets.
_LIST_STATES = frozenset({"waiting", "active", "paused"})
#: A queue name as BullMQ and our settings accept it (also what keeps a key pattern out of a scan).
QUEUE_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,200}$")
#: How many of the newest jobs a text search reads, at most.
SEARCH_LIMIT = 10_000
#: Job ids are read in batches of this many while searching.
_BATCH = 500
#: How long a discovered list of queues is reused before Redis is scanned again.
DISCOVERY_TTL_S = 30.0


def state_key(prefix: str, queue: str, state: str) -> str:
    """The Redis key of one state of a queue (BullMQ names ``waiting`` ``wait``)."""
    return f"{prefix}:{queue}:{'wait' if state == 'waiting' else state}"


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _json(value: Any, default: Any = None) -> Any:
    if value is None:
        return default
    try:
        return json.loads(_text(value))
    except ValueError:
        return _text(value)


def _int(value: Any) -> int | None:
    try:
        return int(_text(value)) if value not in (None, b"", "") else None
    except ValueError:
        return None


@dataclass(frozen=True)
class JobSummary:
    """One row of a job list (redacted)."""

    id: str
    name: str
    data_preview: str
    timestamp: int | None
    processed_on: int | None
    finished_on: int | None
    attempts_made: int
    failed_reason: str


@dataclass(frozen=True)
class JobDetail:
    """Everything a job page shows (redacted)."""

    id: str
    queue: str
    state: str
    name: str
    data: Any
    opts: Any
    progress: Any
    return_value: Any
    failed_reason: str
    #: every failed attempt's stack trace, newest first, as (attempt number, text)
    stacktraces: list[tuple[int, str]]
    attempts_made: int
    attempts: int
    timestamp: int | None
    processed_on: int | None
    finished_on: int | None
    delay: int | None


@dataclass(frozen=True)
class JobPage:
    """A page of one queue state, newest first."""

    queue: str
    state: str
    total: int  #: jobs in the state (or matches, when searching)
    page: int
    size: int
    jobs: list[JobSummary]
    query: str = ""
    scanned: int = 0  #: how many jobs a search read
    exhaustive: bool = True  #: False when a search stopped at SEARCH_LIMIT

    @property
    def pages(self) -> int:
        """Number of pages (at least 1)."""
        return max(1, -(-self.total // self.size))


@dataclass
class QueueDirectory:
    """The queues under one prefix: the known ones, plus any other Redis holds (cached a while)."""

    redis: aioredis.Redis
    prefix: str
    known: tuple[str, ...]
    _found: tuple[str, ...] = ()
    _at: float = -1.0  #: monotonic time of the last scan; negative before the first
    _scan: asyncio.Task[None] | None = None

    async def names(self) -> list[str]:
        """Known queues first, then other queues found in Redis, sorted."""
        if self._at < 0:
            await self._discover()
        elif time.monotonic() - self._at > DISCOVERY_TTL_S and (self._scan is None or self._scan.done()):
            # The last list is shown once more while Redis is scanned again: no page waits on a scan.
            self._scan = asyncio.create_task(self._discover())
        return [*self.known, *self._found]

    async def _discover(self) -> None:
        found: set[str] = set()
        # Every BullMQ queue has a meta hash once it was used; TYPE skips job hashes cheaply.
        async for key in self.redis.scan_iter(match=f"{self.prefix}:*:meta", count=1000, _type="hash"):
            name = _text(key)[len(self.prefix) + 1:-len(":meta")]
            if QUEUE_NAME.match(name):
                found.add(name)
        self._found, self._at = tuple(sorted(found - set(self.known))), time.monotonic()

    async def exists(self, queue: str) -> bool:
        """True for a known queue or one Redis holds."""
        if queue in self.known:
            return True
        if not QUEUE_NAME.match(queue):
            return False
        pipe = self.redis.pipeline(transaction=False)
        pipe.exists(f"{self.prefix}:{queue}:meta")
        pipe.exists(f"{self.prefix}:{queue}:id")
        return any(await pipe.execute())


async def counts(redis: aioredis.Redis, prefix: str, queues: list[str]) -> dict[str, dict[str, int]]:
    """Jobs per state for each queue, in one round trip."""
    pipe = redis.pipeline(transaction=False)
    for queue in queues:
        for state in STATES:
            key = state_key(prefix, queue, state)
            if state in _LIST_STATES:
                pipe.llen(key)
            else:
                pipe.zcard(key)
    values = iter(await pipe.execute())
    return {queue: {state: int(next(values)) for state in STATES} for queue in queues}


async def _ids(redis: aioredis.Redis, key: str, state: str, start: int, end: int) -> list[str]:
    raw: list[Any] = await (redis.lrange(key, start, end) if state in _LIST_STATES
                            else redis.zrevrange(key, start, end))
    return [_text(x) for x in raw]


_SUMMARY_FIELDS = ("name", "data", "timestamp", "processedOn", "finishedOn", "atm", "attemptsMade", "failedReason")


def _summary(job_id: str, values: list[Any]) -> JobSummary | None:
    name, data, ts, processed, finished, atm, made, reason = values
    if name is None and data is None:
        return None  # removed between listing and reading
    preview = json.dumps(redact(_json(data, {})), default=str, ensure_ascii=False)
    return JobSummary(
        id=job_id,
        name=redact_text(_text(name or "")),
        data_preview=preview if len(preview) <= 160 else preview[:159] + "…",
        timestamp=_int(ts),
        processed_on=_int(processed),
        finished_on=_int(finished),
        attempts_made=_int(atm) or _int(made) or 0,
        failed_reason=redact_text(_text(reason or ""))[:300],
    )


async def _summaries(redis: aioredis.Redis, prefix: str, queue: str, ids: list[str]) -> list[JobSummary]:
    pipe = redis.pipeline(transaction=False)
    for job_id in ids:
        pipe.hmget(f"{prefix}:{queue}:{job_id}", list(_SUMMARY_FIELDS))
    rows = await pipe.execute()
    return [s for job_id, row in zip(ids, rows, strict=True) if (s := _summary(job_id, row)) is not None]


async def page(redis: aioredis.Redis, prefix: str, queue: str, state: str, page_no: int, size: int) -> JobPage:
    """One page of a queue state, newest first."""
    key = state_key(prefix, queue, state)
    total = int(await (redis.llen(key) if state in _LIST_STATES else redis.zcard(key)))
    start = (page_no - 1) * size
    ids = await _ids(redis, key, state, start, start + size - 1)
    return JobPage(queue, state, total, page_no, size, await _summaries(redis, prefix, queue, ids))


async def search(redis: aioredis.Redis, prefix: str, queue: str, state: str, query: str, page_no: int,
                 size: int) -> JobPage:
    """Jobs of a state whose id is ``query`` or whose name or data contain it, newest first.

    Matching happens on the redacted text, so a search cannot find a job by a secret it holds.
    """
    needle = query.casefold()
    key = state_key(prefix, queue, state)
    matches: list[str] = []
    scanned, exhausted = 0, False
    while scanned < SEARCH_LIMIT:
        ids = await _ids(redis, key, state, scanned, min(scanned + _BATCH, SEARCH_LIMIT) - 1)
        if not ids:
            exhausted = True
            break
        scanned += len(ids)
        pipe = redis.pipeline(transaction=False)
        for job_id in ids:
            pipe.hmget(f"{prefix}:{queue}:{job_id}", ["name", "data"])
        for job_id, (name, data) in zip(ids, await pipe.execute(), strict=True):
            raw = f"{job_id}\0{_text(name or '')}\0{_text(data or '')}"
            # The cheap test first; only a hit pays for redaction.
            if needle in raw.casefold() and (job_id.casefold() == needle or needle in redact_text(raw).casefold()):
                matches.append(job_id)
    else:
        exhausted = await (redis.llen(key) if state in _LIST_STATES else redis.zcard(key)) <= scanned
    start = (page_no - 1) * size
    jobs = await _summaries(redis, prefix, queue, matches[start:start + size])
    return JobPage(queue, state, len(matches), page_no, size, jobs, query=query, scanned=scanned,
                   exhaustive=exhausted)


async def job_state(redis: aioredis.Redis, prefix: str, queue: str, job_id: str) -> str:
    """Which state holds the job ("unknown" when none does)."""
    pipe = redis.pipeline(transaction=False)
    for state in STATES:
        key = state_key(prefix, queue, state)
        if state in _LIST_STATES:
            pipe.lpos(key, job_id)
        else:
            pipe.zscore(key, job_id)
    for state, found in zip(STATES, await pipe.execute(), strict=True):
        if found is not None:
            return state
    return "unknown"


async def detail(redis: aioredis.Redis, prefix: str, queue: str, job_id: str) -> JobDetail | None:
    """One job with every attempt's stack trace, or None when Redis does not hold it."""
    raw = {_text(k): v for k, v in (await redis.hgetall(f"{prefix}:{queue}:{job_id}")).items()}
    if not raw:
        return None
    opts = _json(raw.get("opts"), {})
    traces = _json(raw.get("stacktrace"), [])
    traces = [str(t) for t in traces] if isinstance(traces, list) else [str(traces)]
    made = _int(raw.get("atm")) or _int(raw.get("attemptsMade")) or 0
    # BullMQ keeps one trace per failed attempt, oldest first; the newest belongs to the last attempt.
    first = max(1, made - len(traces) + 1)
    numbered = [(first + i, redact_text(t)) for i, t in enumerate(traces)]
    return JobDetail(
        id=job_id,
        queue=queue,
        state=await job_state(redis, prefix, queue, job_id),
        name=redact_text(_text(raw.get("name", ""))),
        data=redact(_json(raw.get("data"), {})),
        opts=redact(opts),
        progress=redact(_json(raw.get("progress"))),
        return_value=redact(_json(raw.get("returnvalue"))),
        failed_reason=redact_text(_text(raw.get("failedReason", ""))),
        stacktraces=list(reversed(numbered)),
        attempts_made=made,
        attempts=(_int(opts.get("attempts")) if isinstance(opts, dict) else None) or 1,
        timestamp=_int(raw.get("timestamp")),
        processed_on=_int(raw.get("processedOn")),
        finished_on=_int(raw.get("finishedOn")),
        delay=_int(raw.get("delay")),
    )
