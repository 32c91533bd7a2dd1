"""Reading the dead-letter queue for the pages: rows with their failure signature, filters, and how
often each failure happened.

A dead job's signature is the memory's de-duplication key (``reasoning/context.py``): the same bug
hit by different data has one signature, so the page can group by it and retry a group at once.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from typing import Any

from smartworker.queues import DeadJob, Queues
from smartworker.reasoning.context import FailureContext, error_signature, last_traceback, split_failure
from smartworker.redaction import redact, redact_text
from smartworker.ui.jobs import state_key

#: How many of the newest dead jobs a filter, a group count or a bulk action reads, at most.
SCAN_LIMIT = 10_000
#: How many of the newest dead jobs the signature summary counts.
GROUP_SCAN = 2_000
_BATCH = 500


@dataclass(frozen=True)
class DeadRow:
    """One dead job as a list shows it (redacted)."""

    id: str
    name: str
    queue: str
    job_id: str
    signature: str
    signature_hash: str
    failed_reason: str
    attempts_made: int
    moved_on: int
    data_preview: str


@dataclass(frozen=True)
class SignatureGroup:
    """Dead jobs that failed the same way."""

    signature: str  #: redacted
    signature_hash: str
    name: str
    count: int


@dataclass(frozen=True)
class DeadFilter:
    """What a DLQ list or bulk action is narrowed to."""

    text: str = ""  #: id, job name or text in the data
    signature: str = ""  #: a signature hash

    @property
    def active(self) -> bool:
        """True when anything narrows the list."""
        return bool(self.text or self.signature)

    def matches(self, row: DeadRow, raw: str) -> bool:
        """True when the row passes; ``raw`` is the entry's stored JSON (searched after redaction)."""
        if self.signature and row.signature_hash != self.signature:
            return False
        if not self.text:
            return True
        needle = self.text.casefold()
        if needle in (row.id.casefold(), row.job_id.casefold()):
            return True
        return needle in raw.casefold() and needle in redact_text(f"{row.name}\0{raw}").casefold()


def signature_of(dead: DeadJob) -> tuple[str, str]:
    """(signature, signature hash) of a dead job's final failure, as the memory computes them."""
    exception_type, message = split_failure(dead.failed_reason, last_traceback(dead.stacktrace))
    signature = error_signature(exception_type, message)
    ctx = FailureContext(queue=dead.queue, job_id=dead.job_id, job_name=dead.name, attempts=dead.attempts_made,
                         data={}, opts={}, exception_type=exception_type, message="", signature=signature,
                         traceback="")
    return signature, ctx.signature_hash


def row_of(dead: DeadJob) -> DeadRow:
    """The redacted list row of a dead job."""
    signature, signature_hash = signature_of(dead)
    preview = json.dumps(redact(dead.data), default=str, ensure_ascii=False)
    return DeadRow(
        id=dead.id,
        name=redact_text(dead.name),
        queue=dead.queue,
        job_id=dead.job_id,
        signature=redact_text(signature),
        signature_hash=signature_hash,
        failed_reason=redact_text(dead.failed_reason)[:300],
        attempts_made=dead.attempts_made,
        moved_on=dead.moved_on,
        data_preview=preview if len(preview) <= 160 else preview[:159] + "…",
    )


async def _entries(queues: Queues, start: int, end: int) -> list[tuple[DeadRow, str]]:
    """DLQ rows from position ``start`` to ``end`` (newest first) with their stored JSON."""
    redis = queues.redis
    prefix = queues.settings.queue_prefix
    ids = await redis.lrange(state_key(prefix, queues.names.dlq, "waiting"), start, end)
    pipe = redis.pipeline(transaction=False)
    for dlq_id in ids:
        pipe.hget(f"{prefix}:{queues.names.dlq}:{dlq_id!s}", "data")
    out: list[tuple[DeadRow, str]] = []
    for dlq_id, raw in zip(ids, await pipe.execute(), strict=True):
        if raw is None:
            continue  # removed meanwhile
        try:
            record: Any = json.loads(raw)
        except ValueError:
            continue
        if isinstance(record, dict):
            out.append((row_of(DeadJob.from_record(str(dlq_id), record)), str(raw)))
    return out


async def total(queues: Queues) -> int:
    """Dead jobs in the DLQ."""
    prefix = queues.settings.queue_prefix
    return int(await queues.redis.llen(state_key(prefix, queues.names.dlq, "waiting")))


async def scan(queues: Queues, flt: DeadFilter, limit: int = SCAN_LIMIT) -> tuple[list[DeadRow], int]:
    """Rows passing ``flt`` among the newest ``limit`` dead jobs, newest first, and how many were read."""
    rows: list[DeadRow] = []
    read = 0
    while read < limit:
        batch = await _entries(queues, read, min(read + _BATCH, limit) - 1)
        if not batch:
            break
        read += _BATCH
        rows.extend(row for row, raw in batch if flt.matches(row, raw))
    return rows, min(read, await total(queues))


async def page(queues: Queues, flt: DeadFilter, page_no: int, size: int) -> tuple[int, list[DeadRow], int]:
    """(matching total, one page of rows newest first, dead jobs read)."""
    start = (page_no - 1) * size
    if not flt.active:
        count = await total(queues)
        return count, [row for row, _ in await _entries(queues, start, start + size - 1)], count
    rows, read = await scan(queues, flt)
    return len(rows), rows[start:start + size], read


async def groups(queues: Queues, limit: int = GROUP_SCAN) -> tuple[list[SignatureGroup], int]:
    """Signatures among the newest ``limit`` dead jobs, most frequent first, and how many were read."""
    rows, read = await scan(queues, DeadFilter(), limit)
    counted = Counter((r.signature_hash, r.signature, r.name) for r in rows)
    return [SignatureGroup(sig, h, name, n) for (h, sig, name), n in counted.most_common()], read
