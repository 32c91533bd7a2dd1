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
    #: informing checks that said no to the claimed fix: its email reads "FIXED (n concerns)"
    concerns: int = 0


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
    #: claimed fixes no informing check said no to: what a person is shown as plainly verified
    quiet_claims: int
    quiet_false_fixes: int  #: of those, the ones that fail acceptance

    @property
    def quiet_false_fix_rate(self) -> float | None:
        """False fixes among the claims that carried no concern: wrong fixes shown as plainly verified."""
        return _ratio(self.quiet_false_fixes, self.quiet_claims)

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
    quiet = [r for r in items if r.verdict in CLAIMED and not r.concerns]
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
        quiet_claims=len(quiet),
        quiet_false_fixes=sum(1 for r in quiet if r.verdict is Verdict.FALSE_FIX),
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
        f"claimed without a concern: {summary.quiet_claims}, false fixes among them {summary.quiet_false_fixes} "
        f"({_pct(summary.quiet_false_fix_rate)})",
        f"time to verdict: median {_secs(summary.median_seconds)}, p95 {_secs(summary.p95_seconds)}",
        f"tokens: {summary.prompt_tokens} prompt + {summary.completion_tokens} completion "
        f"= {summary.total_tokens}",
    ])


@dataclass(frozen=True)
class SplitRun:
    """One split's verdict counts in one seed's run."""

    split: str
    seed: int
    cases: int
    fixed: int
    false_fixes: int
    not_fixed: int  #: rejected by the loop's own checks, or the pipeline failed

    @property
    def fix_rate(self) -> float | None:
        """Fixed / cases."""
        return _ratio(self.fixed, self.cases)

    @property
    def false_fix_rate(self) -> float | None:
        """False fixes / claimed fixes."""
        return _ratio(self.false_fixes, self.fixed + self.false_fixes)


@dataclass(frozen=True)
class Spread:
    """Mean, range and (population) standard deviation of one measure over seeds."""

    mean: float
    low: float
    high: float
    stdev: float


def spread(values: Iterable[float | None]) -> Spread | None:
    """The spread of the measured values (None ones are not measured); None when nothing was."""
    measured = [v for v in values if v is not None]
    if not measured:
        return None
    return Spread(statistics.fmean(measured), min(measured), max(measured), statistics.pstdev(measured))


def split_runs(rows: Iterable[tuple[str, int, Verdict]]) -> list[SplitRun]:
    """Counts per (split, seed) from ``(split, seed, verdict)`` triples, in first-seen order."""
    counts: dict[tuple[str, int], list[Verdict]] = {}
    for split, seed, verdict in rows:
        counts.setdefault((split, seed), []).append(verdict)
    return [SplitRun(split, seed, len(v), v.count(Verdict.FIXED), v.count(Verdict.FALSE_FIX),
                     sum(1 for x in v if x not in CLAIMED)) for (split, seed), v in counts.items()]


def _spread_text(value: Spread | None, pct: bool) -> str:
    if value is None:
        return "n/a"
    show = _pct if pct else (lambda v: f"{v:.1f}")
    return f"mean {show(value.mean)} (range {show(value.low)}–{show(value.high)}, sd {show(value.stdev)})"


def format_split_runs(runs: list[SplitRun]) -> str:
    """Per split: one line per seed (fixed / false / not fixed), then mean and spread over the seeds."""
    lines: list[str] = []
    for split in dict.fromkeys(run.split for run in runs):
        mine = [run for run in runs if run.split == split]
        lines.append(f"{split} ({mine[0].cases} cases)")
        for run in mine:
            lines.append(f"  seed {run.seed:>5}: fixed {run.fixed:>3}, false {run.false_fixes:>3}, "
                         f"not fixed {run.not_fixed:>3}  (fix rate {_pct(run.fix_rate)}, "
                         f"false-fix rate {_pct(run.false_fix_rate)} of claimed)")
        if len(mine) > 1:
            lines.append(f"  fixed:          {_spread_text(spread(float(r.fixed) for r in mine), False)}")
            lines.append(f"  false:          {_spread_text(spread(float(r.false_fixes) for r in mine), False)}")
            lines.append(f"  not fixed:      {_spread_text(spread(float(r.not_fixed) for r in mine), False)}")
            lines.append(f"  fix rate:       {_spread_text(spread(r.fix_rate for r in mine), True)}")
            lines.append(f"  false-fix rate: {_spread_text(spread(r.false_fix_rate for r in mine), True)}")
    return "\n".join(lines)
