"""Load and validate FixBench cases.

A case is a folder ``cases/<id>/`` with:

- ``app/``: an app root; ``app_module`` is a package in it that registers ``handler``;
- ``case.json``: ``id``, ``kind``, ``description`` (for humans, never shown to the LLM),
  ``app_module``, ``handler``, ``failing_data``, optional ``failing_error`` (the exception type
  ``failing_data`` raises), optional ``false_fix_trap``, optional ``history`` (inputs the handler
  completed before the failure, replayed as production's recent successful jobs), optional
  ``history_wrong`` (indexes into ``history`` of jobs the original code completed with a wrong answer:
  a correct fix changes those answers; used only by tests) and ``acceptance``,
  a list of ``{"data": ..., "expected": ...}`` or ``{"data": ..., "raises": "ExceptionType"}``;
- ``reference_fix/``: the corrected files, paths relative to ``app/`` (used only by tests);
- ``naive_fix/`` (trap cases): a plausible wrong fix that stops the crash but fails acceptance.

``split.json`` puts every case in exactly one split: ``tune`` (the cases the loop was tuned on) or
``holdout`` (never used to choose a change); its ``rule`` says why.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: Where the shipped cases live.
CASES_DIR = Path(__file__).resolve().parent / "cases"

#: Which split each case belongs to (see its ``rule``).
SPLIT_FILE = Path(__file__).resolve().parent / "split.json"

#: The splits, in report order.
SPLITS = ("tune", "holdout")

#: The bug families the benchmark covers; ``kind`` must be one of them.
KINDS = frozenset({
    "none-optional",  # None or a missing optional field
    "renamed-key",  # KeyError after a producer renamed a key
    "missing-key",  # KeyError on a key that is legitimately absent
    "type-conversion",  # str vs int/float
    "bytes-str",  # bytes vs str
    "off-by-one",
    "empty-input",
    "division-by-zero",
    "naive-aware-datetime",
    "mutable-default",
    "wrong-access",  # dict treated as list or the other way round, bad index
    "encoding",
    "json-shape",  # the payload's structure changed
    "integer-division",
    "loop-bounds",
    "deep-helper",  # raised two calls below the handler, in a helper module
    "api-misuse",  # a library call used against its contract (a None return, a one-sample statistic, ...)
    "parse-format",  # a legitimate variant of a text format the parser does not know
    "float-decimal",  # float and Decimal mixed, or money rounded in binary floating point
    "time-zone",  # a local day or offset computed in the wrong zone, or an offset in another form
    "units",  # a quantity in another unit than the code assumes
    "mutable-state",  # state shared between calls or items, or a collection changed while iterated
    "exception-handling",  # the wrong exception caught, or an exception taken for a result
    "multi-file",  # the wrong value is made in one module and fails in another; the fix spans modules
})


class CaseError(ValueError):
    """A case folder is malformed."""


@dataclass(frozen=True)
class AcceptanceInput:
    """One hidden check: ``data`` must give ``expected``, or raise an exception named ``raises``."""

    data: dict[str, Any]
    expected: Any = None
    raises: str | None = None


@dataclass(frozen=True)
class Case:
    """One benchmark case, loaded from its folder."""

    id: str
    kind: str
    description: str
    app_module: str
    handler: str
    failing_data: dict[str, Any]
    failing_error: str | None
    false_fix_trap: bool
    acceptance: tuple[AcceptanceInput, ...]
    root: Path
    #: jobs the handler completed before the failure: production's recent successful inputs
    history: tuple[dict[str, Any], ...] = ()
    #: indexes into ``history`` of jobs the original code answered wrongly without failing
    history_wrong: tuple[int, ...] = ()

    @property
    def app_dir(self) -> Path:
        """The app root the handler is imported from."""
        return self.root / "app"

    def app_files(self) -> dict[str, str]:
        """The app's source files by path relative to ``app_dir``: what the pipeline may read."""
        return _read_tree(self.app_dir)

    def reference_fix(self) -> dict[str, str]:
        """The human fix: changed files by path relative to ``app_dir``."""
        return _read_tree(self.root / "reference_fix")

    def naive_fix(self) -> dict[str, str]:
        """For trap cases, a wrong fix that stops the crash; empty when the case has none."""
        folder = self.root / "naive_fix"
        return _read_tree(folder) if folder.is_dir() else {}


def _read_tree(folder: Path) -> dict[str, str]:
    if not folder.is_dir():
        raise CaseError(f"{folder} is missing")
    return {
        path.relative_to(folder).as_posix(): path.read_text(encoding="utf-8")
        for path in sorted(folder.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    }


def _require(raw: dict[str, Any], key: str, kind: type, where: Path) -> Any:
    value = raw.get(key)
    if not isinstance(value, kind):
        raise CaseError(f"{where}: {key!r} must be a {kind.__name__}")
    return value


def load_case(folder: Path) -> Case:
    """Read and validate ``folder/case.json``; raises CaseError naming the problem."""
    where = folder / "case.json"
    try:
        raw = json.loads(where.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CaseError(f"{where}: {exc}") from None
    if not isinstance(raw, dict):
        raise CaseError(f"{where}: expected an object")
    case_id = _require(raw, "id", str, where)
    if case_id != folder.name:
        raise CaseError(f"{where}: id {case_id!r} differs from the folder name")
    kind = _require(raw, "kind", str, where)
    if kind not in KINDS:
        raise CaseError(f"{where}: unknown kind {kind!r}")
    module = _require(raw, "app_module", str, where)
    package = folder / "app" / Path(*module.split("."))
    if not (package / "__init__.py").is_file() and not package.with_suffix(".py").is_file():
        raise CaseError(f"{where}: app_module {module!r} not found under app/")
    failing = _require(raw, "failing_data", dict, where)
    checks: list[AcceptanceInput] = []
    for index, item in enumerate(_require(raw, "acceptance", list, where)):
        if not isinstance(item, dict) or not isinstance(item.get("data"), dict):
            raise CaseError(f"{where}: acceptance[{index}] needs a 'data' object")
        if ("expected" in item) == ("raises" in item):
            raise CaseError(f"{where}: acceptance[{index}] needs exactly one of 'expected' or 'raises'")
        checks.append(AcceptanceInput(item["data"], item.get("expected"), item.get("raises")))
    if len(checks) < 3:
        raise CaseError(f"{where}: acceptance needs at least 3 inputs")
    if not any(check.data == failing and check.raises is None for check in checks):
        raise CaseError(f"{where}: acceptance must pin the output for failing_data")
    failing_error = raw.get("failing_error")
    if failing_error is not None and not isinstance(failing_error, str):
        raise CaseError(f"{where}: 'failing_error' must be a str")
    history = raw.get("history", [])
    if not isinstance(history, list) or not all(isinstance(item, dict) for item in history):
        raise CaseError(f"{where}: 'history' must be a list of objects")
    history_wrong = raw.get("history_wrong", [])
    if (not isinstance(history_wrong, list)
            or not all(isinstance(i, int) and 0 <= i < len(history) for i in history_wrong)):
        raise CaseError(f"{where}: 'history_wrong' must list indexes into 'history'")
    return Case(
        id=case_id,
        kind=kind,
        description=_require(raw, "description", str, where),
        app_module=module,
        handler=_require(raw, "handler", str, where),
        failing_data=failing,
        failing_error=failing_error,
        false_fix_trap=bool(raw.get("false_fix_trap", False)),
        acceptance=tuple(checks),
        root=folder,
        history=tuple(history),
        history_wrong=tuple(history_wrong),
    )


def load_cases(root: Path = CASES_DIR) -> list[Case]:
    """Every case under ``root``, sorted by id."""
    return [load_case(folder) for folder in sorted(root.iterdir()) if (folder / "case.json").is_file()]


def load_split(path: Path = SPLIT_FILE) -> dict[str, str]:
    """Case id -> split name from ``path``; raises CaseError if a case is listed twice or a split is unknown."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CaseError(f"{path}: {exc}") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("rule"), str):
        raise CaseError(f"{path}: expected an object with a 'rule'")
    unknown = set(raw) - {"rule", *SPLITS}
    if unknown:
        raise CaseError(f"{path}: unknown split(s) {sorted(unknown)}")
    split: dict[str, str] = {}
    for name in SPLITS:
        for case_id in _require(raw, name, list, path):
            if not isinstance(case_id, str):
                raise CaseError(f"{path}: {name} lists {case_id!r}, not a case id")
            if case_id in split:
                raise CaseError(f"{path}: {case_id!r} is in {split[case_id]!r} and {name!r}")
            split[case_id] = name
    return split


def select(cases: list[Case], split: str, assignment: dict[str, str]) -> list[Case]:
    """The cases of one split (``all`` for every case); a case missing from ``assignment`` is an error."""
    missing = [case.id for case in cases if case.id not in assignment]
    if missing:
        raise CaseError(f"not in {SPLIT_FILE.name}: {', '.join(missing)}")
    return [case for case in cases if split == "all" or assignment[case.id] == split]


def add_split_option(parser: argparse.ArgumentParser, default: str) -> None:
    """A ``--split tune|holdout|all`` option for the offline evaluations (read with ``split_cases``)."""
    parser.add_argument("--split", choices=[*SPLITS, "all"], default=default,
                        help=f"cases of this split of split.json (default {default}; the holdout is never used "
                             "to choose a change)")


def split_cases(split: str) -> list[Case]:
    """The shipped cases of one split (``all`` for every case)."""
    return select(load_cases(), split, load_split())
