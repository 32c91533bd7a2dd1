"""Turn per-case verdicts into the benchmark's numbers. Pure: no I/O."""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class Verdict(StrEnum):
    """How one case ended."""

    FIXED = "fixed"  #: a fix passed the sandbox re-run and the hidden acceptance check
    FALSE_FIX = "false_fix"  #: a fix passed the sandbox re-run but failed acceptance
    REJECTED = "rejected"  #: the pipeline finished without a fix that passed its own verification
    FAILED = "failed"  #: the pipeline itself errored or timed out


#: Verdicts where the pipeline claimed a fix.
CLAIMED = frozenset({Verdict.FIXED, Verdict.FALSE_FIX})


@dataclass(frozen=True)
class CaseResult:
    """What the runner records for one case."""

    case_id: str
    verdict: Verdict
    seconds: float  #: wall time from the failure to the verdict
    prompt_tokens: int = 0
    completion_tokens: int = 0


@dataclass(frozen=True)
class Summary:
    """The benchmark's numbers over a set of case results."""

    cases: int
    fixed: int
    false_fixes: int
    rejected: int
    failed: int
    fix_rate: float | None  #: fixed / cases
    false_fix_rate: float | None  #: false fixes / claimed fixes: how often a "verified" fix is wrong
    median_seconds: float | None
    p95_seconds: float | None  #: nearest-rank 95th percentile
    prompt_tokens: int
    completion_tokens: int

    @property
    def total_tokens(self) -> int:
        """Prompt plus completion tokens."""
        return self.prompt_tokens + self.completion_tokens


def _ratio(part: int, whole: int) -> float | None:
    # No denominator means "not measured", which must not read as 0 %.
    return part / whole if whole else None


def percentile(values: Iterable[float], fraction: float) -> float | None:
    """Nearest-rank percentile (``fraction`` in (0, 1]); None for no values."""
    ordered = sorted(values)
    if not ordered:
        return None
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def summarize(results: Iterable[CaseResult]) -> Summary:
    """Count verdicts and compute rates, time to verdict and token totals."""
    items = list(results)
    counts = {v: sum(1 for r in items if r.verdict is v) for v in Verdict}
    claimed = counts[Verdict.FIXED] + counts[Verdict.FALSE_FIX]
    seconds = [r.seconds for r in items]
    return Summary(
        cases=len(items),
        fixed=counts[Verdict.FIXED],
        false_fixes=counts[Verdict.FALSE_FIX],
        rejected=counts[Verdict.REJECTED],
        failed=counts[Verdict.FAILED],
        fix_rate=_ratio(counts[Verdict.FIXED], len(items)),
        false_fix_rate=_ratio(counts[Verdict.FALSE_FIX], claimed),
        median_seconds=statistics.median(seconds) if seconds else None,
        p95_seconds=percentile(seconds, 0.95),
        prompt_tokens=sum(r.prompt_tokens for r in items),
        completion_tokens=sum(r.completion_tokens for r in items),
    )


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"


def _secs(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f} s"


def format_summary(summary: Summary) -> str:
    """A few lines for a terminal or a CI log."""
    return "\n".join([
        f"cases {summary.cases}: fixed {summary.fixed}, false fixes {summary.false_fixes}, "
        f"rejected {summary.rejected}, failed {summary.failed}",
        f"fix rate {_pct(summary.fix_rate)}, false-fix rate {_pct(summary.false_fix_rate)} of claimed fixes",
        f"time to verdict: median {_secs(summary.median_seconds)}, p95 {_secs(summary.p95_seconds)}",
        f"tokens: {summary.prompt_tokens} prompt + {summary.completion_tokens} completion "
        f"= {summary.total_tokens}",
    ])
