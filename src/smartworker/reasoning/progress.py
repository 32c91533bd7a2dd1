"""Live progress of a resolution: the phase it is in, which candidate of how many, for how long, and
the tokens spent so far.

A resolution with the local model takes minutes; a record that says only ``running`` for that long
looks hung. The resolver calls ``mark`` at each phase boundary (one line each), which stores the
phase in the record; elapsed seconds are computed when the record is read (``view``), so they move
while a phase lasts. Tokens are the model's own counts (``usage``), added after each call.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from smartworker.queues import now_ms

if TYPE_CHECKING:
    from smartworker.reasoning.records import FixRecord, FixRecords


class Phase(StrEnum):
    """What a running resolution is doing."""

    REPRODUCING = "reproducing"  #: re-running the failed job in the sandbox (and earlier jobs)
    SEARCHING_MEMORY = "searching memory"  #: similar failures and people's rejections
    ASKING = "asking the model"  #: waiting for candidate k
    VERIFYING = "verifying"  #: candidate k in the sandbox
    REVIEWING = "reviewing"  #: the model checks a verified candidate's result against the docstring
    DONE = "done"  #: the record has its verdict (its summary is written after it)


#: Phases that belong to one candidate ("candidate k of N" is shown with them).
CANDIDATE_PHASES = frozenset({Phase.ASKING, Phase.VERIFYING, Phase.REVIEWING})


@dataclass
class Progress:
    """Where a resolution is, as stored in its record (``FixRecord.progress``)."""

    phase: str = Phase.REPRODUCING.value
    candidate: int = 0  #: 1-based index of the candidate being asked for, verified or reviewed; 0 before
    candidates: int = 0  #: candidates this resolution may try (AI_CANDIDATES)
    phase_since: int = 0  #: ms since the epoch when this phase began

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Progress:
        """Inverse of ``asdict``, ignoring fields this version does not know."""
        known = {k: raw[k] for k in ("phase", "candidate", "candidates", "phase_since") if k in raw}
        return cls(**known)


def start(record: FixRecord, candidates: int) -> None:
    """A new resolution: reproducing, with ``candidates`` to try."""
    record.progress = Progress(Phase.REPRODUCING.value, 0, candidates, now_ms())


async def mark(records: FixRecords, record: FixRecord, phase: Phase, candidate: int | None = None) -> None:
    """Enter ``phase`` (for ``candidate`` when given) and store the record, so readers see it now."""
    current = record.progress or Progress()
    record.progress = Progress(phase.value, current.candidate if candidate is None else candidate,
                               current.candidates, now_ms())
    await records.save(record)


def view(record: dict[str, Any], now: int | None = None) -> dict[str, Any]:
    """The progress of a stored record (its JSON form) as the API and CLI show it.

    ``phase`` is ``done`` once the record has its verdict; ``elapsed_s`` runs from the record's start
    to ``now`` (to its verdict once finished); ``tokens`` counts prompt and completion tokens of
    every answer so far. A record written before progress existed is shown from its fields.
    """
    now = now_ms() if now is None else now
    stored = record.get("progress")
    progress = Progress.from_dict(stored) if isinstance(stored, dict) else Progress()
    finished = record.get("finished_on")
    final = record.get("status") not in (None, "running")
    phase = Phase.DONE.value if final else progress.phase
    end = int(finished) if final and isinstance(finished, int | float) else now
    created = _int(record, "created_on") or end
    since = progress.phase_since or created
    tokens = _int(record, "prompt_tokens") + _int(record, "completion_tokens")
    candidate = progress.candidate if phase in CANDIDATE_PHASES else 0
    return {
        "phase": phase,
        "candidate": candidate,
        "candidates": progress.candidates,
        "elapsed_s": round(max(0, end - created) / 1000, 1),
        "phase_elapsed_s": round(max(0, end - since) / 1000, 1) if not final else 0.0,
        "tokens": tokens,
        "text": describe(phase, candidate, progress.candidates, max(0, end - created) / 1000, tokens),
    }


def describe(phase: str, candidate: int, candidates: int, elapsed_s: float, tokens: int) -> str:
    """One line: ``asking the model (candidate 2 of 4), 95 s, 3,210 tokens``."""
    what = f"{phase} (candidate {candidate} of {candidates})" if candidate else phase
    return f"{what}, {elapsed_s:.0f} s, {tokens:,} tokens"


def _int(record: dict[str, Any], name: str) -> int:
    value = record.get(name)
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0
