"""Correct fixes that today's gates turn down: FixBench reference fixes some gate rejects.

Findings for whoever owns the gates, not decisions. Each entry names a case whose reference fix
(correct: it passes the case's acceptance check) a gate rejects, and why. The tests mark exactly
these as expected failures with ``strict=True``, so main stays green while the findings stand, and a
gate that starts accepting one makes its test fail until the entry is deleted. Keys:

- ``review``: the vetoing static checks on the fix alone (reasoning/review.py);
- ``verdict_history``: the sandbox verdict with the case's earlier jobs as replay references
  (tests/integration/test_fixbench_verdict.py);
- ``loop_history_on`` / ``loop_history_off``: the whole loop answered by ``reference_model``, with
  and without the earlier jobs (tests/integration/test_fixbench_reference_loop.py).

Empty since the gates were made one list of veto and inform gates (reasoning/gates.py): the
rejections listed before, and why each went, are in docs/benchmarks.md (verdict, 2026-12-07).
"""

from __future__ import annotations

#: check -> case id -> why the check rejects that case's reference fix.
KNOWN_REJECTIONS: dict[str, dict[str, str]] = {
    "review": {},
    "verdict_history": {},
    "loop_history_on": {},
    "loop_history_off": {},
}
