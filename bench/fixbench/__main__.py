"""``python -m bench.fixbench``: run every case through the real repair pipeline.

For each case: the handler fails on its data in the sandbox (that traceback is the failure the
pipeline sees), then context → memory → LLM → proposal → sandbox verdict, exactly as for a dead job.
The case's ``history`` (jobs the handler completed before) plays the recent successful inputs a
production worker keeps for the regression replay. A claimed fix is then judged by the case's hidden
acceptance inputs: fixed, or a false fix.

    python -m bench.fixbench [--split tune|holdout|all] [--seeds 0,100,200] [--history on|off]
                             [--candidates 4] [--case ID ...] [--json results.json] [--no-memory]
                             [--reference [--lanes 2]]

The LLM is AI_SERVICE_URL when set, else the bundled local model (started here); ``--reference``
answers with each case's reference fix instead (``reference_model``), to count the correct fixes
the loop turns down. Each seed (AI_SEED) is a whole run, with a fresh memory; the summary gives
fixed / false / not fixed per split and per seed, then the mean and spread over the seeds. The
``holdout`` split is never used to choose a change (``split.json``).

Each case starts from the same prompt cache. llama.cpp reuses the longest prefix of the previous
prompt it has cached, and a prompt computed from another cached length can get another reply (the
same first prompt, found with 884 and then 840 tokens cached, got two different files). The previous
prompt is the previous case's last: a fix prompt, a review or a summary, depending on how that case
went. So one case's change of outcome used to change the next case's replies, and two runs differed
by a case or two without any change to what they compared. Before each case, one request of the fix
prompt's system message (one token out) puts the cache in the same state; a case's replies then
depend on that case alone, whatever ran before it (measured: in two runs of 13 cases whose cases
ended differently, all 11 first prompts that were the same got the same reply). Across machines the
CPU still differs, so compare runs made on one machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

from smartworker.config import Settings, load_settings
from smartworker.embedded import EmbeddedRedis
from smartworker.notify.email import EmailNotifier
from smartworker.queues import Queues
from smartworker.reasoning.llm import ChatClient
from smartworker.reasoning.prompt import system_message
from smartworker.reasoning.resolver import Resolver
from smartworker.sandbox.base import create_sandbox

from .cases import CaseError, add_split_option, load_cases, load_split, select
from .reference_model import run_references
from .report import CaseResult, Verdict, format_split_runs, format_summary, split_runs, summarize
from .runner import run_case


async def settle_cache(llm: ChatClient) -> None:
    """Leave the server's prompt cache holding the fix prompt's system message and nothing after it
    (see the module's docstring: it makes each case's replies independent of the cases before)."""
    await llm.complete([system_message(), {"role": "user", "content": "Ready?"}], temperature=0.0, max_tokens=1,
                       seed=1)


async def start_llm(settings: Settings, workdir: Path) -> tuple[ChatClient, Any]:
    """The configured LLM, or the local model served for this run."""
    if settings.ai_service_url:
        return ChatClient.from_settings(settings), None
    from smartworker.reasoning import local_model

    path = await asyncio.to_thread(local_model.pull, settings.data_dir.expanduser().resolve())
    server = local_model.start(path, port=settings.ai_local_llm_port, alias=settings.ai_model_name,
                               log_path=workdir / "llm.log")
    await asyncio.to_thread(server.wait_ready, 600.0)
    return ChatClient.from_settings(settings, server.url), server


def _seeds(text: str) -> list[int]:
    try:
        seeds = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--seeds wants comma-separated integers, not {text!r}") from None
    if not seeds or any(seed < 0 for seed in seeds):
        raise argparse.ArgumentTypeError(f"--seeds wants one or more integers >= 0, not {text!r}")
    return seeds


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line (see the module's docstring)."""
    parser = argparse.ArgumentParser(prog="python -m bench.fixbench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--candidates", type=int, default=None, help="AI_CANDIDATES for this run")
    parser.add_argument("--case", action="append", default=[], help="run only these case ids")
    add_split_option(parser, "all")
    parser.add_argument("--seeds", type=_seeds, default=None,
                        help="comma-separated AI_SEED values, one whole run each (default: AI_SEED)")
    parser.add_argument("--history", choices=["on", "off"], default="on",
                        help="replay the cases' earlier successful jobs, as production does (default: on)")
    parser.add_argument("--no-history", action="store_true", help="the same as --history off")
    parser.add_argument("--reference", action="store_true",
                        help="answer every case with its reference fix (a scripted model, no LLM): "
                             "counts the correct fixes the loop turns down")
    parser.add_argument("--lanes", type=int, default=2,
                        help="with --reference, cases run this many at a time (default 2)")
    parser.add_argument("--json", type=Path, default=None, help="write every row here")
    parser.add_argument("--no-memory", action="store_true", help="skip PostgreSQL + pgvector")
    args = parser.parse_args(argv)
    if args.no_history:
        args.history = "off"
    return args


async def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    overrides: dict[str, Any] = {"smtp_host": None}
    if args.candidates:
        overrides["ai_candidates"] = args.candidates
    settings = load_settings(**overrides)
    seeds = args.seeds or [settings.ai_seed]
    split_of = load_split()
    try:
        cases = [c for c in select(load_cases(), args.split, split_of) if not args.case or c.id in args.case]
    except CaseError as exc:
        print(exc, file=sys.stderr)
        return 2
    if not cases:
        print(f"no case matches {args.case} in split {args.split}", file=sys.stderr)
        return 2
    if len(seeds) > 1 and not args.no_memory and settings.database_configured:
        # Seeds must be independent runs: one seed's fixes in a shared memory would help the next.
        print("several --seeds with memory on need the embedded database (a fresh one per seed); "
              "unset the database settings or add --no-memory", file=sys.stderr)
        return 2
    history = args.history == "on"

    workdir = Path(tempfile.mkdtemp(prefix="fixbench-"))
    redis_server = None
    url = settings.redis_dsn()
    if url is None:
        redis_server = EmbeddedRedis(workdir / "redis")
        url = redis_server.start()
    queues = Queues(settings, url)
    rows: list[dict[str, Any]] = []
    llm, server = (None, None) if args.reference else await start_llm(settings, workdir)
    sandbox = create_sandbox(settings)
    try:
        for seed in seeds:
            seeded = settings.model_copy(update={"ai_seed": seed})
            model = "reference fixes (scripted)" if llm is None else f"{seeded.ai_model_name} at {llm.url}"
            print(f"FixBench: {len(cases)} cases (split {args.split}), model {model}, "
                  f"candidates={seeded.ai_candidates}, seed={seed}, "
                  f"memory={'off' if args.no_memory or llm is None else 'on'}, history={args.history}", flush=True)
            if llm is None:
                done = await run_references(cases, seeded, queues, sandbox, history=history, lanes=args.lanes,
                                            on_row=_print_row)
                rows += [{**row, "split": split_of[row["case"]], "seed": seed} for row in done]
                continue
            memory = None if args.no_memory else await _open_memory(seeded, overrides, workdir / f"seed-{seed}")
            resolver = Resolver(seeded, queues, llm=llm, sandbox=sandbox, notifier=EmailNotifier(seeded),
                                memory=memory)
            try:
                for case in cases:
                    await settle_cache(llm)
                    row = await run_case(case, resolver, sandbox, memory, history=history)
                    row.update(split=split_of[case.id], seed=seed)
                    rows.append(row)
                    _print_row(row)
            finally:
                if memory is not None:
                    await memory.close()
    finally:
        if llm is not None:
            await llm.close()
        if server is not None:
            server.stop()
        await queues.close()
        if redis_server is not None:
            redis_server.stop()
    summary = summarize(CaseResult(r["case"], Verdict(r["verdict"]), r["seconds"], r["tokens"][0], r["tokens"][1],
                                   len(r.get("concerns", []))) for r in rows)
    runs = split_runs((r["split"], r["seed"], Verdict(r["verdict"])) for r in rows)
    if len({r["split"] for r in rows}) > 1:
        runs += split_runs(("all", r["seed"], Verdict(r["verdict"])) for r in rows)
    print()
    print(format_summary(summary))
    print()
    print(format_split_runs(runs))
    if args.json:
        run_settings = {"model": "reference" if args.reference else settings.ai_model_name,
                        "candidates": settings.ai_candidates, "temperature": settings.ai_temperature,
                        "seeds": seeds, "split": args.split, "history": history,
                        "output_review": settings.ai_output_review, "variants": settings.sandbox_variants}
        splits = [{**asdict(run), "fix_rate": run.fix_rate, "false_fix_rate": run.false_fix_rate} for run in runs]
        args.json.write_text(json.dumps({"settings": run_settings, "summary": asdict(summary), "splits": splits,
                                         "rows": rows}, indent=2))
    return 0


def _print_row(row: dict[str, Any]) -> None:
    print(f"{row['case']:<34} {row['kind']:<20} {row['verdict']:<10} {row['candidates']:>2} cand "
          f"{row['seconds']:>7.1f}s  {sum(row['tokens']):>6} tok  {row['reason'][:80]}", flush=True)


async def _open_memory(settings: Settings, overrides: dict[str, Any], data_dir: Path) -> Any:
    """The memory store for one seed's run: a fresh embedded database unless one is configured."""
    from smartworker.memory.store import MemoryStore

    if settings.database_configured:
        return await MemoryStore.open(settings)
    return await MemoryStore.open(load_settings(**overrides, ai_seed=settings.ai_seed, data_dir=data_dir))


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
