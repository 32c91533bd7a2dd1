"""How often the null-equals-absent answer check is right, on known fixes and recorded candidates.

    python -m bench.fixbench.answer_eval [--split tune|holdout|all] [docs/fixbench/RUN.json ...]

For each fix, the variants the resolver would build are the failing data with each field the fix's
diff reads held as null instead of absent, or the reverse (``reasoning/variants.py``). The check
(``verify(..., same_answer=True)``) wants every such variant to give the failing data's own answer.
The fixes judged are: each case's human reference fix and its planted naive fix (trap cases), and
every recorded candidate the sandbox passed (verdict fixed or false_fix) in the given runs. A right
fix the check flags is a fix lost; a wrong one it flags is a false fix stopped. Fixes whose diff
reads no such field have no variant and are not counted.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

from smartworker.reasoning.edits import unified_diff
from smartworker.reasoning.variants import missing_value_variants, nearby_fields, touched_fields

from .acceptance import files_from_diff, passed_rows, patched_tree, print_tally, run_inputs
from .cases import Case, add_split_option, split_cases


def differs(case: Case, files: dict[str, str]) -> bool | None:
    """Whether some null/absent variant answers differently from the failing data; None when the fix
    has no such variant or does not complete the failing job."""
    originals = {path: (case.app_dir / path).read_text() for path in files if (case.app_dir / path).is_file()}
    diff = unified_diff(originals, files)
    variants = missing_value_variants(case.failing_data, touched_fields(diff), nearby_fields(diff))
    if not variants:
        return None
    with patched_tree(case.app_dir, files) as root:
        first, *others = run_inputs(root, case.app_module, case.handler,
                                    [case.failing_data, *(v.data for v in variants)])
    if not first.ok:
        return None
    return any(o.ok and json.dumps(o.result, sort_keys=True) != json.dumps(first.result, sort_keys=True)
               for o in others)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.fixbench.answer_eval", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", type=Path, nargs="*", help="FixBench --json outputs")
    add_split_option(parser, "tune")
    args = parser.parse_args(argv)
    cases = {case.id: case for case in split_cases(args.split)}
    judged: list[tuple[str, Case, bool, dict[str, str]]] = []
    for case in cases.values():
        judged.append(("reference", case, True, case.reference_fix()))
        if case.naive_fix():
            judged.append(("naive", case, False, case.naive_fix()))
    seen: set[tuple[str, str]] = set()
    for row in passed_rows(args.runs):
        if row["case"] not in cases or (row["case"], row["diff"]) in seen:
            continue
        seen.add((row["case"], row["diff"]))
        files = files_from_diff(cases[row["case"]], row["diff"])
        if files is not None:
            judged.append(("recorded", cases[row["case"]], row["verdict"] == "fixed", files))
    counts: Counter[tuple[str, bool, bool]] = Counter()  # (source, right, flagged)
    for source, case, right, files in judged:
        flagged = differs(case, files)
        if flagged is None:
            continue
        counts[(source, right, flagged)] += 1
        print(f"{source:<10} {case.id:<34} {'right' if right else 'wrong'} {'FLAGGED' if flagged else 'passed'}",
              flush=True)
    print_tally(counts)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
