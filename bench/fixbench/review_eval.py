"""How often the contract review is right, on candidates that FixBench runs already judged.

    python -m bench.fixbench.review_eval [--references] [--corpus] [--split tune|holdout|all] [--json out.json]
                                         [docs/fixbench/RUN.json ...]

For every row whose candidate the sandbox passed (verdict fixed or false_fix; the same case and diff
once), the diff is laid over the case's app, the failing data is run to get the job's result, and the
review prompt the resolver uses is sent to AI_SERVICE_URL. ``--references`` adds every case's human
fix (right) and the trap cases' naive fixes (wrong); ``--corpus`` adds every item of the correct-fix
and wrong-fix corpora (tests/corpus). A good review says YES to fixes and NO to false fixes. Prints one
line per candidate and a two-by-two count; ``--json`` keeps every answer.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
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
    parser.add_argument("--corpus", action="store_true", help="also judge both corpora of tests/corpus")
    parser.add_argument("--json", type=Path, help="write every answer here")
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
    scratch = tempfile.TemporaryDirectory(prefix="review-eval-")
    if args.corpus:
        judged += _corpus(Path(scratch.name))
    llm = ChatClient.from_settings(load_settings())
    counts: Counter[tuple[str, str]] = Counter()
    answers: list[dict[str, str]] = []
    try:
        for case, verdict, files in judged:
            with patched_tree(case.app_dir, files) as root:
                outcome = run_inputs(root, case.app_module, case.handler, [case.failing_data])[0]
            completion = await llm.complete(review_messages(files, case.failing_data, outcome.result),
                                            temperature=0.0, max_tokens=MAX_TOKENS, seed=1)
            review = parse_review(completion.text)
            answer = {True: "yes", False: "no", None: "unreadable"}[review.accepted]
            counts[(verdict, answer)] += 1
            answers.append({"case": case.id, "verdict": verdict, "answer": answer, "reason": review.reason})
            print(f"{case.id:<34} {verdict:<10} {answer:<10} {review.reason[:80]}", flush=True)
    finally:
        await llm.close()
        scratch.cleanup()
    print()
    for verdict in ("fixed", "false_fix"):
        print(f"{verdict:<10} " + "  ".join(f"{a}: {counts[(verdict, a)]}" for a in ("yes", "no", "unreadable")))
    if args.json is not None:
        args.json.write_text(json.dumps({"counts": {f"{v} {a}": n for (v, a), n in sorted(counts.items())},
                                         "answers": answers}, indent=1), encoding="utf-8")
    return 0


def _corpus(root: Path) -> list[tuple[Case, str, dict[str, str]]]:
    """Every corpus item laid out as a case under ``root``: a correct item's fix is right ("fixed"), a
    wrong item's candidate is a false fix."""
    # tests/ holds the corpora; run from the repository root, it is importable.
    from tests.corpus.harness import load_correct, load_wrong, materialise

    correct = load_correct()
    judged = []
    for verdict, items in (("fixed", correct), ("false_fix", load_wrong(correct))):
        for item in items:
            case = materialise(item, root / verdict)
            judged.append((case, verdict, case.reference_fix()))
    return judged


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
