"""The majority vote that decides whether a past failure is "the same" as a new one.

Each of the top K hits that is close enough to count (``VOTE_CUTOFFS``) votes for the failure its
chunk belongs to. A failure wins only with a strict majority of those votes (more than half),
which also makes it unique; anything else, a tie included, is no winner: the resolver then gets
no past resolution rather than a wrong one.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T", bound=Hashable)

#: A hit farther than its category's cutoff (cosine distance) abstains from the vote. Measured
#: with MiniLM on tests/integration/memory_cases.py: beyond 0.25 signatures are merely "the same
#: kind of error" (the 'NoneType' AttributeErrors sit 0.25-0.35 apart) and would outnumber a twin's
#: three or four chunks. A location names one code line: the same bug recurs on the same text
#: (distance < 0.01; a light edit of the line 0.03-0.08), while another line of the same function
#: is already 0.065-0.4 away, so locations vote only when nearly identical.
VOTE_CUTOFFS: dict[str, float] = {
    "error_signature": 0.25,
    "failure_location": 0.05,
    "code_context": 0.25,
    "metadata": 0.25,
}


@dataclass(frozen=True)
class Hit:
    """A stored chunk near a query chunk."""

    chunk_id: int
    failure_id: int
    category: str
    content: str
    distance: float  #: cosine distance, 0 = same direction
    weighted: float  #: distance / category weight: the ranking key

    @property
    def similarity(self) -> float:
        """1 - cosine distance."""
        return 1.0 - self.distance


def tally(voters: Sequence[T]) -> list[tuple[T, int]]:
    """Votes per candidate, most first; ties keep first-seen order (the better-ranked hit)."""
    return Counter(voters).most_common()


def majority(voters: Sequence[T], total: int | None = None) -> T | None:
    """The candidate holding more than half of ``total`` votes (default: ``len(voters)``), else None.

    ``total`` lets a caller count hits that were dropped (too far away) as abstentions.
    """
    n = len(voters) if total is None else total
    if n <= 0 or not voters:
        return None
    (best, count), *rest = tally(voters)
    if 2 * count <= n:
        return None
    # Strict majority implies uniqueness; the check documents it and guards a wrong ``total``.
    if rest and rest[0][1] == count:
        return None
    return best


#: A winner must have a voting hit in one of these: where the bug shows (its signature or its
#: failing line), not only the same job and similar code around it.
ANCHOR_CATEGORIES = frozenset({"error_signature", "failure_location"})

_EXCEPTION_TYPE = re.compile(r"^\s*([A-Za-z_][\w.]*)\s*(?::|$)")


def exception_type_of(error: str) -> str | None:
    """The exception type at the start of an error line ("KeyError: 'x'" -> "KeyError"), if any."""
    match = _EXCEPTION_TYPE.match(error)
    return match.group(1) if match else None


def _same_type(a: str | None, b: str | None) -> bool:
    if not a or not b:
        return True  # unknown on either side: the vote alone decides
    # "json.decoder.JSONDecodeError" and "JSONDecodeError" are the same type.
    return a.rsplit(".", 1)[-1] == b.rsplit(".", 1)[-1]


def decide(
    hits: Sequence[Hit],
    exception_types: Mapping[int, str] | None = None,
    query_type: str | None = None,
    cutoffs: Mapping[str, float] = VOTE_CUTOFFS,
) -> tuple[int | None, list[tuple[int, int]]]:
    """(winning failure id or None, votes per failure) for ranked hits.

    Hits beyond their category's cutoff abstain. The winner needs a strict majority of the voting hits,
    a voting hit in an anchor category, and the query's exception type (when both are known):
    another bug in the same handler shares the job, the data shape and the code around it, and
    would otherwise win on those alone.
    """
    voting = [h for h in hits if h.distance <= cutoffs.get(h.category, 0.0)]
    counts = tally([h.failure_id for h in voting])
    winner = majority([h.failure_id for h in voting])
    if winner is None:
        return None, counts
    anchored = any(h.failure_id == winner and h.category in ANCHOR_CATEGORIES for h in voting)
    stored_type = (exception_types or {}).get(winner)
    if not anchored or not _same_type(stored_type, query_type):
        return None, counts
    return winner, counts
