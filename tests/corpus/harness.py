"""The correct-fix and wrong-fix corpora: load items, lay them out as FixBench cases, run them
through the real repair loop black-box, and name the gate that turned a candidate down.

An item is one Python file (read, never imported as part of a package) with these names:

- its docstring: what the bug is and why the fix is right (for people, never shown to the loop);
- ``KIND``: the bug family (one of ``bench.fixbench.cases.KINDS``); ``STYLES``: how the fix is written
  (a subset of :data:`STYLES`);
- ``HANDLER``: the job name; ``APP``: the app's files (path relative to the app root -> source), the
  first path's top folder or module is the package that registers the handler;
- ``FAILING``: the failed job's data, ``ERROR``: the exception it raises, ``EXPECTED``: what the
  fixed handler returns for it;
- ``HISTORY``: jobs the handler completed before (replayed as production does), ``HISTORY_WRONG``:
  indexes of those the old code answered wrongly without failing;
- ``ACCEPTANCE``: more ``(data, expected)`` pairs, ``REJECTS``: ``(data, exception name)`` pairs;
- ``FIX``: the corrected files: path -> whole new file, or path -> ``[(old, new), ...]`` text
  replacements in the old file (each ``old`` found exactly once).

A wrong-fix item names its correct item in ``BASE``, its flaw in ``FLAW`` (one of :data:`FLAWS`),
its candidate in ``FIX`` (same forms), and may add ``ACCEPTANCE``/``REJECTS`` inputs that show the
flaw (the correct fix must pass them too). Everything else comes from the base item.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# bench/ is not an installed package; the repository root makes ``bench.fixbench`` importable.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.fixbench.cases import KINDS, Case, load_case

CORPUS_DIR = Path(__file__).resolve().parent
CORRECT_DIR = CORPUS_DIR / "correct"
WRONG_DIR = CORPUS_DIR / "wrong"

#: How a correct fix is written (an item has one or more).
STYLES = frozenset({
    "api-migration",  # a removed or deprecated call swapped for its successor
    "drops-call",  # a rewrite that drops or replaces calls, the failing one included
    "guard-clause",  # a guard or an early return for the case the code missed
    "helper-extracted",  # the logic moves into a new helper function
    "right-exception",  # catches the exception the code should have expected
    "docstring-ignored-key",  # the docstring names a key the code deliberately does not read
    "shape-differs",  # the result's keys or string layout legitimately differ from earlier results'
    "changes-history",  # the fix rightly changes answers the old code gave earlier jobs
    "multi-file",  # the fix spans modules
    "small-edit",  # a one- or two-line change
    "rewrite",  # the function is rewritten
})

#: How a wrong fix is wrong.
FLAWS = frozenset({
    "swallowed-error",  # catches the failure and returns something made up
    "hiding-default",  # a default that hides missing data
    "lossy-decode",  # decodes by dropping or replacing what it cannot read
    "skipped-work",  # skips the failing item or step
    "half-null",  # handles an absent key but not an explicit null (or the other way round)
    "changed-answers",  # changes the answers earlier inputs rightly got
    "wrong-value",  # completes with a wrong value
})


@dataclass(frozen=True)
class Item:
    """One corpus item, loaded from its file."""

    id: str
    description: str
    kind: str
    handler: str
    app: dict[str, str]
    fix: dict[str, str]  #: the candidate's changed files, whole
    failing: dict[str, Any]
    error: str
    expected: Any
    styles: frozenset[str] = frozenset()
    history: list[dict[str, Any]] = field(default_factory=list)
    history_wrong: list[int] = field(default_factory=list)
    acceptance: list[tuple[dict[str, Any], Any]] = field(default_factory=list)
    rejects: list[tuple[dict[str, Any], str]] = field(default_factory=list)
    flaw: str | None = None  #: set on a wrong-fix item
    base: str | None = None  #: the correct item a wrong-fix item reuses
    correct_fix: dict[str, str] = field(default_factory=dict)  #: a wrong-fix item's base fix
    adds_inputs: bool = False  #: a wrong-fix item adds acceptance inputs to its base's

    @property
    def app_module(self) -> str:
        """The package (or module) that registers the handler."""
        first = next(iter(self.app)).split("/")[0]
        return first.removesuffix(".py")


class ItemError(ValueError):
    """An item file is malformed."""


def _module(path: Path) -> dict[str, Any]:
    spec = importlib.util.spec_from_file_location(f"corpus_item_{path.stem}", path)
    if spec is None or spec.loader is None:
        raise ItemError(f"{path}: cannot load")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return vars(module)


def _files(app: dict[str, str], fix: dict[str, Any], where: Path) -> dict[str, str]:
    files: dict[str, str] = {}
    for path, change in fix.items():
        if isinstance(change, str):
            files[path] = change
            continue
        text = app.get(path)
        if text is None:
            raise ItemError(f"{where}: FIX edits {path}, which APP does not have")
        for old, new in change:
            if text.count(old) != 1:
                raise ItemError(f"{where}: FIX for {path}: {old!r} is found {text.count(old)} times, not once")
            text = text.replace(old, new)
        files[path] = text
    return files


def load_item(path: Path, bases: dict[str, Item] | None = None) -> Item:
    """Read one item file; a wrong-fix item needs the correct items by id in ``bases``."""
    raw = _module(path)
    description = (raw.get("__doc__") or "").strip()
    if not description:
        raise ItemError(f"{path}: an item needs a docstring saying what is wrong and why")
    if "BASE" in raw:
        base = (bases or {}).get(raw["BASE"])
        if base is None:
            raise ItemError(f"{path}: BASE {raw['BASE']!r} is not a correct item")
        if raw.get("FLAW") not in FLAWS:
            raise ItemError(f"{path}: FLAW must be one of {sorted(FLAWS)}")
        return Item(id=path.stem, description=description, kind=base.kind, handler=base.handler, app=base.app,
                    fix=_files(base.app, raw["FIX"], path), failing=base.failing, error=base.error,
                    expected=base.expected, history=base.history, history_wrong=base.history_wrong,
                    acceptance=base.acceptance + list(raw.get("ACCEPTANCE", [])),
                    rejects=base.rejects + list(raw.get("REJECTS", [])), flaw=raw["FLAW"], base=base.id,
                    correct_fix=base.fix, adds_inputs=bool(raw.get("ACCEPTANCE") or raw.get("REJECTS")))
    if raw.get("KIND") not in KINDS:
        raise ItemError(f"{path}: KIND must be one of bench.fixbench.cases.KINDS")
    styles = frozenset(raw.get("STYLES", ()))
    if not styles or not styles <= STYLES:
        raise ItemError(f"{path}: STYLES must name at least one of {sorted(STYLES)}")
    app = {name: text.lstrip("\n") for name, text in raw["APP"].items()}
    return Item(id=path.stem, description=description, kind=raw["KIND"], handler=raw["HANDLER"], app=app,
                fix={name: text.lstrip("\n") for name, text in _files(app, raw["FIX"], path).items()},
                failing=raw["FAILING"], error=raw["ERROR"], expected=raw["EXPECTED"], styles=styles,
                history=list(raw.get("HISTORY", [])), history_wrong=list(raw.get("HISTORY_WRONG", [])),
                acceptance=list(raw.get("ACCEPTANCE", [])), rejects=list(raw.get("REJECTS", [])))


def _item_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*.py") if not p.name.startswith("_"))


def load_correct() -> list[Item]:
    """Every correct-fix item, sorted by id."""
    return [load_item(path) for path in _item_files(CORRECT_DIR)]


def load_wrong(correct: list[Item] | None = None) -> list[Item]:
    """Every wrong-fix item, sorted by id."""
    bases = {item.id: item for item in (correct if correct is not None else load_correct())}
    return [load_item(path, bases) for path in _item_files(WRONG_DIR)]


def materialise(item: Item, root: Path, *, fix: dict[str, str] | None = None) -> Case:
    """Lay ``item`` out under ``root/<id>`` as a FixBench case folder (its candidate as the reference
    fix, or ``fix`` when given) and load it, so FixBench's runner, scripted model and acceptance
    check run it unchanged."""
    folder = root / item.id
    for sub, files in (("app", item.app), ("reference_fix", item.fix if fix is None else fix)):
        for name, text in files.items():
            target = folder / sub / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
    checks = [{"data": item.failing, "expected": item.expected}]
    checks += [{"data": data, "expected": expected} for data, expected in item.acceptance]
    checks += [{"data": data, "raises": error} for data, error in item.rejects]
    case = {"id": item.id, "kind": item.kind, "description": item.description, "app_module": item.app_module,
            "handler": item.handler, "failing_data": item.failing, "failing_error": item.error,
            "false_fix_trap": item.flaw is not None, "history": item.history, "history_wrong": item.history_wrong,
            "acceptance": checks}
    (folder / "case.json").write_text(json.dumps(case, indent=1), encoding="utf-8")
    return load_case(folder)


#: Which gate a rejection came from, by the words today's gates use; the first match wins. A trail
#: step that names its gate (a ``gate`` key, once rejections carry one) is used as is.
_GATE_WORDS: list[tuple[str, str]] = [
    ("drops or replaces", "lossy_codec"),
    ("drops `", "dropped_call"),
    ("it hides the", "hidden_error"),
    ("the docstring of", "ignored_input"),
    ("so this job leaves out", "skipped_line"),
    ("review says", "contract_review"),
    ("the failing job still fails", "failing_data"),
    ("the failing job now completes, but", "result_shape"),
    ("the job still fails with", "variants"),
    ("the job answers differently with", "variants"),
    ("regression on replay", "replay"),
    ("an earlier job", "replay"),
    ("sandbox error", "sandbox_error"),
]


def gate_of(row: dict[str, Any]) -> str:
    """The gate that turned down the last candidate of a run's row (``-`` when it was fixed)."""
    if row.get("verdict") in ("fixed", "false_fix"):
        return "-"
    trail = row.get("trail") or [{}]
    if trail[-1].get("gate"):
        return str(trail[-1]["gate"])
    reason = str(trail[-1].get("outcome") or row.get("reason") or "")
    for words, gate in _GATE_WORDS:
        if words in reason:
            return gate
    return "other"


def short(reason: str, width: int = 160) -> str:
    """One line of at most ``width`` characters."""
    line = re.sub(r"\s+", " ", reason).strip()
    return line if len(line) <= width else line[: width - 1] + "…"


async def run_loop(cases: list[Case], *, redis_url: str, data_dir: Path, lanes: int = 3, history: bool = True,
                   sandbox_concurrency: int | None = None, reviewer: tuple[str, str] | None = None,
                   on_row: Callable[[dict[str, Any]], None] | None = None) -> list[dict[str, Any]]:
    """Every case through the real loop answered by its reference fix (FixBench's reference lane):
    a scripted OpenAI-compatible server, the real resolver and gates, the configured sandbox.

    One sandbox backend serves every lane; ``sandbox_concurrency`` (default: the setting,
    ``SANDBOX_CONCURRENCY``) bounds its runs at once across them. ``reviewer`` (URL, model name) is a
    real model for the contract review, configured as production configures one: an escalation
    model with no candidates of its own (otherwise the scripted model says YES)."""
    from bench.fixbench.reference_model import run_references

    from smartworker.config import load_settings
    from smartworker.queues import Queues
    from smartworker.sandbox.base import create_sandbox

    overrides: dict[str, Any] = {} if sandbox_concurrency is None else {"sandbox_concurrency": sandbox_concurrency}
    if reviewer is not None:
        # One model serves every lane's reviews in turn: a lane may wait for the others'.
        overrides.update(ai_escalation_url=reviewer[0], ai_escalation_model=reviewer[1], ai_escalation_candidates=0,
                         ai_timeout_s=900.0)
    settings = load_settings(redis_url=redis_url, queue_name=f"corpus-{data_dir.name}", data_dir=data_dir,
                             smtp_host=None, ai_candidates=1, **{"ai_timeout_s": 30.0, **overrides})
    queues = Queues(settings, redis_url)
    sandbox = create_sandbox(settings)
    try:
        return await run_references(cases, settings, queues, sandbox, history=history, lanes=lanes, on_row=on_row)
    finally:
        await queues.close()
        await sandbox.close()  # its warm spare sessions


def audit(item: Item, root: Path) -> list[str]:
    """What is wrong with the item itself (empty when it is sound), checked without the loop: the old
    code fails the failing job with ``ERROR`` and completes every earlier job; a correct fix passes
    the acceptance check, completes the earlier jobs and changes exactly the answers listed in
    ``HISTORY_WRONG``; a wrong fix fails it (and its base's correct fix passes any inputs it adds).
    One interpreter per tree judged: the old code, the candidate, the base fix when needed."""
    from bench.fixbench.acceptance import judge, patched_tree, run_inputs

    case = materialise(item, root)
    checks = list(case.acceptance)
    problems: list[str] = []

    def run(patch: dict[str, str] | None, inputs: list[dict[str, Any]]) -> list[Any]:
        with patched_tree(case.app_dir, patch) as tree:
            return run_inputs(tree, case.app_module, case.handler, inputs)

    if item.flaw is not None:
        if all(judge(c, o) for c, o in zip(checks, run(item.fix, [c.data for c in checks]), strict=True)):
            problems.append("the wrong fix passes the acceptance check")
        if item.adds_inputs and not all(judge(c, o) for c, o in
                             zip(checks, run(item.correct_fix, [c.data for c in checks]), strict=True)):
            problems.append("the base item's correct fix fails this item's acceptance check")
        return problems
    old = run(None, [item.failing, *item.history])
    if old[0].ok or item.error not in old[0].error_types:
        problems.append(f"the old code does not raise {item.error} on FAILING: {old[0]}")
    problems += [f"the old code fails HISTORY[{i}]: {o.message}" for i, o in enumerate(old[1:]) if not o.ok]
    new = run(item.fix, [c.data for c in checks] + item.history)
    problems += [f"the fix fails acceptance on {c.data}: {o}" for c, o in zip(checks, new, strict=False)
                 if not judge(c, o)]
    for index, (before, after) in enumerate(zip(old[1:], new[len(checks):], strict=True)):
        if not after.ok:
            problems.append(f"the fix fails HISTORY[{index}]: {after.message}")
        elif (before.result != after.result) != (index in item.history_wrong):
            problems.append(f"HISTORY[{index}]: old {before.result} vs fixed {after.result}; HISTORY_WRONG disagrees")
    return problems
