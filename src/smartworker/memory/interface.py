"""What the rest of SmartWorker needs from the failure memory, as a Protocol.

The resolver, the API and the service reach the memory through this, so none of them imports the
store (psycopg, numpy, the embedding model) to name a type, and tests may hand in any store with
these methods.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from smartworker.memory.store import FailureRecord, SearchResult
    from smartworker.reasoning.context import FailureContext
    from smartworker.reasoning.prompt import RejectedFix


class FailureMemory(Protocol):
    """Remember failures and resolutions; find the past failure a new one repeats."""

    async def remember_failure(self, ctx: FailureContext) -> int:
        """Store a final failure; return its id."""
        ...

    async def count_occurrences(self, failures: Sequence[tuple[str, str, str]]) -> list[int | None]:
        """Count failures (queue, job_id, occurrence key) on the stored ones with their keys; per
        failure its row's id, or None when no row has the key."""
        ...

    async def remember_resolution(self, queue: str, job_id: str, summary: str, diff: str) -> int:
        """Mark a stored failure resolved by a verified fix; return its id."""
        ...

    async def remember_rejection(self, fix: Mapping[str, str], reason: str, by: str) -> None:
        """Store a fix a person rejected, with the reason; its failure is no longer resolved."""
        ...

    async def rejected_fixes(self, name: str, signature: str, limit: int = 3) -> list[RejectedFix]:
        """The newest fixes people rejected for this handler and signature."""
        ...

    async def search(self, query: FailureContext | str, *, resolved_only: bool = True,
                     k: int | None = None) -> SearchResult:
        """Past failures like ``query``."""
        ...

    async def search_text(self, error: str, traceback: str | None = None, job_name: str | None = None, *,
                          resolved_only: bool = False, k: int | None = None) -> SearchResult:
        """Past failures like an error text."""
        ...

    async def get_failure(self, failure_id: int) -> FailureRecord:
        """One stored failure."""
        ...

    async def list_failures(self, signature: str | None = None, resolved: bool | None = None, page: int = 1,
                            size: int = 20) -> tuple[int, list[FailureRecord]]:
        """A page of stored failures."""
        ...

    async def ping(self) -> bool:
        """True when the database answers."""
        ...

    async def close(self) -> None:
        """Close connections and stop an embedded server this process started."""
        ...
