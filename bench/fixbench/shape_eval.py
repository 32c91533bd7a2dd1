"""How often the result-shape check is right, on known fixes and recorded FixBench candidates.

    python -m bench.fixbench.shape_eval [--split tune|holdout|all] [docs/fixbench/RUN.json ...]

The references are what the ORIGINAL code returns for each case's earlier jobs (its history), as
the verdict sees them. Then, for every case:

- the human reference fix, on the failing data and on every hidden acceptance input that must
  succeed: a right answer, which the check must not flag;
- the planted naive fix of trap cases, on the failing data: a wrong answer;
- every recorded candidate the sandbox passed (verdict fixed or false_fix) in the given runs, on the
  failing data: right or wrong as acceptance judged it.

Prints each flagged or wrong-and-missed result, then a two-by-two count per source.
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path
from typing import Any

from smartworker.sandbox.shape import mismatch

from .acceptance import files_from_diff, passed_rows, patched_tree, print_tally, run_inputs
from .cases import Case, add_split_option, split_cases

#: Stands for a run that raised: no result to judge.
_FAILED = object()


def _results(case: Case, patch: dict[str, str] | None, inputs: list[dict[str, Any]]) -> list[Any]:
    with patched_tree(case.app_dir, patch) as root:
        outcomes = run_inputs(root, case.app_module, case.handler, inputs)
    return [o.result if o.ok else _FAILED for o in outcomes]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.fixbench.shape_eval", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", type=Path, nargs="*", help="FixBench --json outputs")
    add_split_option(parser, "tune")
    args = parser.parse_args(argv)
    rows = passed_rows(args.runs)
    counts: Counter[tuple[str, bool, bool]] = Counter()  # (source, right, flagged)

    def judge(source: str, case: Case, right: bool, result: Any) -> None:
        if result is _FAILED:
            return
        why = mismatch(result, references)
        counts[(source, right, why is not None)] += 1
        if why is not None or not right:
            mark = "FLAGGED" if why else "missed "
            print(f"{source:<10} {case.id:<34} {'right' if right else 'wrong'} {mark} {why or ''}", flush=True)

    for case in split_cases(args.split):
        references = [r for r in _results(case, None, list(case.history)) if r is not _FAILED]
        musts = [c.data for c in case.acceptance if c.raises is None]
        for result in _results(case, case.reference_fix(), [case.failing_data, *musts]):
            judge("reference", case, True, result)
        if case.naive_fix():
            judge("naive", case, False, _results(case, case.naive_fix(), [case.failing_data])[0])
        for row in rows:
            files = files_from_diff(case, row["diff"]) if row["case"] == case.id else None
            if files is not None:
                judge("recorded", case, row["verdict"] == "fixed", _results(case, files, [case.failing_data])[0])
    print_tally(counts)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
