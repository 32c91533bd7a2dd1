"""The failure memory: past failures and their resolutions in PostgreSQL + pgvector.

``MemoryStore`` is the whole API for the rest of SmartWorker; ``store.py`` explains the search.
"""

from __future__ import annotations

from smartworker.memory.store import (
    Evidence,
    FailureRecord,
    Match,
    MemoryStore,
    SearchResult,
)
from smartworker.memory.vote import Hit

__all__ = ["Evidence", "FailureRecord", "Hit", "Match", "MemoryStore", "SearchResult"]
