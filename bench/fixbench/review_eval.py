"""How often the contract review is right, on candidates that FixBench runs already judged.

    python -m bench.fixbench.review_eval [--references] [--split tune|holdout|all] [docs/fixbench/RUN.json ...]

For every row whose candidate the sandbox passed (verdict fixed or false_fix; the same case and diff
once), the diff is laid over the case's app, the failing data is run to get the job's result, and the
review prompt the resolver uses is sent to AI_SERVICE_URL. ``--references`` adds every case's human
fix (right) and the trap cases' naive fixes (wrong). A good review says YES to fixes and NO to false
fixes. Prints one line per candidate and a two-by-two count.
"""

from __future__ import annotations

import argparse
import asyncio
from collections import Counter
from pathlib import Path

from smartworker.config import load_settings
from smartworker.reasoning.contract import MAX_TOKENS, parse_review, review_messages
from smartworker.reasoning.llm import ChatClient

from .acceptance import files_from_diff, passed_rows, patched_tree, run_inputs
from .cases import Case, add_split_option, split_cases


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.fixbench.review_eval", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", type=Path, nargs="*", help="FixBench --json outputs")
    add_split_option(parser, "tune")
    parser.add_argument("--references", action="store_true", help="also judge reference and naive fixes")
    args = parser.parse_args(argv)
    cases = {case.id: case for case in split_cases(args.split)}
    judged: list[tuple[Case, str, dict[str, str]]] = []
    if args.references:
        for case in cases.values():
            judged.append((case, "fixed", case.reference_fix()))
            if case.naive_fix():
                judged.append((case, "false_fix", case.naive_fix()))
    seen: set[tuple[str, str]] = set()
    for row in passed_rows(args.runs):
        recorded = cases.get(row["case"])
        if recorded is None or (row["case"], row["diff"]) in seen:
            continue
        seen.add((row["case"], row["diff"]))
        files = files_from_diff(recorded, row["diff"])
        if files is not None:
            judged.append((recorded, row["verdict"], files))
    llm = ChatClient.from_settings(load_settings())
    counts: Counter[tuple[str, str]] = Counter()
    try:
        for case, verdict, files in judged:
            with patched_tree(case.app_dir, files) as root:
                outcome = run_inputs(root, case.app_module, case.handler, [case.failing_data])[0]
            completion = await llm.complete(review_messages(files, case.failing_data, outcome.result),
                                            temperature=0.0, max_tokens=MAX_TOKENS, seed=1)
            review = parse_review(completion.text)
            answer = {True: "yes", False: "no", None: "unreadable"}[review.accepted]
            counts[(verdict, answer)] += 1
            print(f"{case.id:<34} {verdict:<10} {answer:<10} {review.reason[:80]}", flush=True)
    finally:
        await llm.close()
    print()
    for verdict in ("fixed", "false_fix"):
        print(f"{verdict:<10} " + "  ".join(f"{a}: {counts[(verdict, a)]}" for a in ("yes", "no", "unreadable")))
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
