"""``python -m bench.gates``: both corpora (tests/corpus) through the real repair loop, counted.

Each item runs as production runs a failed job: its app root, the failed job, its earlier jobs as
regression replays, real gates and sandbox, with a scripted model (a real HTTP server) answering with
the item's candidate and "YES" to the contract review (or, with ``--reviewer``, a real model reviews).
Prints

    correct rejected: k/N  (per gate)
    correct accepted with a concern: k/N
    wrong false-accept: k/N (x %)
    wrong accepted without a concern: k/N (x %)

(a concern: an informing gate said no to the accepted change; its report reads "FIXED (n concerns)")

and, with ``--verbose``, every rejected correct fix and every accepted wrong fix with its reason.

    python -m bench.gates [--lanes 4] [--sandbox-concurrency N] [--only correct|wrong] [--item ID ...]
                          [--history on|off] [--reviewer URL [--reviewer-model NAME]] [--json out.json]
                          [--verbose]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

# tests/ holds the corpora; the repository root makes it importable.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.corpus.harness import gate_of, load_correct, load_wrong, materialise, run_loop, short

from smartworker.embedded import EmbeddedRedis


def summarise(rows: list[dict[str, Any]], wrong_ids: set[str]) -> list[str]:
    """The report's lines: correct fixes turned down (per gate), wrong fixes let through."""
    correct = [row for row in rows if row["case"] not in wrong_ids]
    wrong = [row for row in rows if row["case"] in wrong_ids]
    lines = []
    if correct:
        turned_down = [row for row in correct if row["verdict"] != "fixed"]
        gates = Counter(gate_of(row) for row in turned_down)
        per_gate = ", ".join(f"{gate} {n}" for gate, n in gates.most_common()) or "none"
        lines.append(f"correct rejected: {len(turned_down)}/{len(correct)}  ({per_gate})")
        flagged = [row for row in correct if row["verdict"] == "fixed" and row.get("concerns")]
        lines.append(f"correct accepted with a concern: {len(flagged)}/{len(correct)}")
    if wrong:
        accepted = [row for row in wrong if row["verdict"] in ("fixed", "false_fix")]
        gates = Counter(gate_of(row) for row in wrong if row not in accepted)
        per_gate = ", ".join(f"{gate} {n}" for gate, n in gates.most_common()) or "none"
        lines.append(f"wrong false-accept: {len(accepted)}/{len(wrong)} ({100 * len(accepted) / len(wrong):.1f} %)"
                     f"  (turned down by: {per_gate})")
        quiet = [row for row in accepted if not row.get("concerns")]
        lines.append(f"wrong accepted without a concern: {len(quiet)}/{len(wrong)} "
                     f"({100 * len(quiet) / len(wrong):.1f} %)")
    return lines


def details(rows: list[dict[str, Any]], wrong_ids: set[str]) -> list[str]:
    """One line per correct fix turned down and per wrong fix let through."""
    lines = []
    for row in rows:
        if row["case"] not in wrong_ids and row["verdict"] != "fixed":
            lines.append(f"  rejected   {row['case']}: {gate_of(row)}: {short(row['reason'])}")
        elif row["case"] in wrong_ids and row["verdict"] in ("fixed", "false_fix"):
            lines.append(f"  accepted   {row['case']}")
    return lines


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.gates", description=__doc__.split("\n\n")[0])
    parser.add_argument("--lanes", type=int, default=4, help="items run at a time (default 4)")
    parser.add_argument("--sandbox-concurrency", type=int,
                        help="sandbox runs at once across the lanes (default: SANDBOX_CONCURRENCY)")
    parser.add_argument("--only", choices=["correct", "wrong"], help="run one corpus")
    parser.add_argument("--item", action="append", default=[], help="run only these item ids")
    parser.add_argument("--history", choices=["on", "off"], default="on",
                        help="replay the earlier jobs (on, as production does)")
    parser.add_argument("--reviewer", metavar="URL", help="a real OpenAI-compatible model for the contract review "
                                                             "(as AI_ESCALATION_URL with no candidates); default: YES")
    parser.add_argument("--reviewer-model", default="qwen2.5-coder-1.5b-instruct", help="its model name")
    parser.add_argument("--json", type=Path, help="write every row here")
    parser.add_argument("--verbose", action="store_true", help="list every rejected and accepted item")
    args = parser.parse_args(argv)
    correct = load_correct()
    wrong = load_wrong(correct)
    items = ([] if args.only == "wrong" else correct) + ([] if args.only == "correct" else wrong)
    if args.item:
        items = [item for item in items if item.id in set(args.item)]
    wrong_ids = {item.id for item in wrong}
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bench-gates-") as tmp:
        root = Path(tmp)
        redis = EmbeddedRedis(root / "redis")
        url = redis.start()
        try:
            cases = [materialise(item, root / "items") for item in items]
            rows = await run_loop(cases, redis_url=url, data_dir=root / "data", lanes=args.lanes,
                                  history=args.history == "on", sandbox_concurrency=args.sandbox_concurrency,
                                  reviewer=(args.reviewer, args.reviewer_model) if args.reviewer else None)
        finally:
            redis.stop()
    seconds = time.monotonic() - started
    for line in summarise(rows, wrong_ids):
        print(line)
    if args.verbose:
        for line in details(rows, wrong_ids):
            print(line)
    print(f"{len(rows)} items in {seconds:.0f} s, {args.lanes} lanes, history {args.history}, "
          f"contract review: {args.reviewer_model + ' at ' + args.reviewer if args.reviewer else 'scripted YES'}")
    if args.json is not None:
        args.json.write_text(json.dumps({"seconds": round(seconds, 1), "lanes": args.lanes, "history": args.history,
                                         "summary": summarise(rows, wrong_ids),
                                         "rows": [{**row, "gate": gate_of(row)} for row in rows]}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
