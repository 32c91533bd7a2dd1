"""Run a case's hidden acceptance inputs against its app tree, original or patched.

Every run copies the case's ``app/`` to a temporary folder, lays the patch (changed files by path
relative to ``app/``) over it, and calls the handler in a fresh interpreter, so nothing a previous
run imported or mutated leaks in. All inputs of one run share that interpreter, in order, the way
a worker process handles job after job: state leaking between jobs (a mutable default) shows.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import smartworker

from .cases import AcceptanceInput, Case

#: The code run in the child: import the app, call the handler on each input, write outcomes.
_RUNNER = r"""
import asyncio, copy, inspect, json, sys
req = json.load(sys.stdin)
sys.path.insert(0, req["root"])
from smartworker.jobs import load_app, registry
outcomes = []
try:
    load_app(req["module"], __import__("pathlib").Path(req["root"]))
    fn = registry.get(req["handler"], hazard_testing=True).fn
except BaseException as exc:
    names = [k.__name__ for k in type(exc).__mro__]
    outcomes = [{"ok": False, "types": names, "message": "import: " + str(exc)}] * len(req["inputs"])
else:
    for data in req["inputs"]:
        try:
            result = fn(copy.deepcopy(data))
            if inspect.isawaitable(result):
                result = asyncio.run(result)
            outcomes.append({"ok": True, "result": json.loads(json.dumps(result))})
        except Exception as exc:
            names = [k.__name__ for k in type(exc).__mro__]
            outcomes.append({"ok": False, "types": names, "message": str(exc)[:500]})
with open(req["out"], "w", encoding="utf-8") as fh:
    json.dump(outcomes, fh)
"""


@dataclass(frozen=True)
class Outcome:
    """What one call of the handler did."""

    ok: bool  #: returned (True) or raised (False)
    result: Any = None  #: the JSON-normalised return value
    error_types: tuple[str, ...] = ()  #: the exception's class and its bases, most derived first
    message: str = ""

    @property
    def error(self) -> str | None:
        """The exception's class name, or None when the call returned."""
        return self.error_types[0] if self.error_types else None


@dataclass(frozen=True)
class InputVerdict:
    """One acceptance input judged."""

    check: AcceptanceInput
    outcome: Outcome
    passed: bool


@dataclass(frozen=True)
class AcceptanceReport:
    """A case's acceptance inputs judged against one tree."""

    case_id: str
    verdicts: tuple[InputVerdict, ...]

    @property
    def passed(self) -> bool:
        """True when every input gave what it should."""
        return all(v.passed for v in self.verdicts)

    @property
    def failures(self) -> list[InputVerdict]:
        """The inputs that did not."""
        return [v for v in self.verdicts if not v.passed]


def same_value(got: Any, want: Any) -> bool:
    """Equality for JSON values, with floats compared to 1e-9 so summation order does not matter."""
    if isinstance(want, float) or (isinstance(got, float) and isinstance(want, int)):
        return (isinstance(got, int | float) and not isinstance(got, bool)
                and math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-9))
    if isinstance(want, dict):
        return (isinstance(got, dict) and got.keys() == want.keys()
                and all(same_value(got[k], want[k]) for k in want))
    if isinstance(want, list):
        return (isinstance(got, list) and len(got) == len(want)
                and all(same_value(g, w) for g, w in zip(got, want, strict=True)))
    return type(got) is type(want) and bool(got == want)


def judge(check: AcceptanceInput, outcome: Outcome) -> bool:
    """Whether ``outcome`` is what ``check`` asks for."""
    if check.raises is not None:
        return not outcome.ok and check.raises in outcome.error_types
    return outcome.ok and same_value(outcome.result, check.expected)


def _safe_relative(name: str) -> Path:
    rel = PurePosixPath(name)
    if rel.is_absolute() or not rel.parts or any(p in ("", ".", "..") for p in rel.parts):
        raise ValueError(f"patch path {name!r} must be relative and stay inside the app")
    return Path(*rel.parts)


@contextmanager
def patched_tree(app_dir: Path, patch: Mapping[str, str] | None = None) -> Iterator[Path]:
    """A temporary copy of ``app_dir`` with ``patch`` (path -> new text) written over it."""
    with tempfile.TemporaryDirectory(prefix="fixbench-") as tmp:
        root = Path(tmp) / "app"
        shutil.copytree(app_dir, root, ignore=shutil.ignore_patterns("__pycache__"))
        for name, text in (patch or {}).items():
            target = root / _safe_relative(name)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        yield root


def _child_env() -> dict[str, str]:
    # The child must import this smartworker (installed or from src/), whatever the caller's cwd.
    src = str(Path(smartworker.__file__).resolve().parent.parent)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONSTARTUP")}
    env["PYTHONPATH"] = src
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["PYTHONHASHSEED"] = "0"
    return env


def run_inputs(
    app_root: Path, module: str, handler: str, inputs: Sequence[dict[str, Any]], *, timeout: float = 30.0
) -> list[Outcome]:
    """Call ``handler`` from ``module`` under ``app_root`` on each input, in one fresh interpreter.

    A run that exceeds ``timeout`` (an endless loop in a patch) or dies gives a failed outcome
    for every input.
    """
    with tempfile.TemporaryDirectory(prefix="fixbench-out-") as tmp:
        out = Path(tmp) / "outcomes.json"
        request = {"root": str(app_root), "module": module, "handler": handler,
                   "inputs": list(inputs), "out": str(out)}
        try:
            proc = subprocess.run(
                [sys.executable, "-B", "-c", _RUNNER], input=json.dumps(request), text=True,
                capture_output=True, timeout=timeout, cwd=tmp, env=_child_env(), check=False,
            )
        except subprocess.TimeoutExpired:
            timed_out = Outcome(ok=False, error_types=("TimeoutExpired",), message=f"over {timeout} s")
            return [timed_out] * len(inputs)
        if not out.is_file():
            tail = (proc.stderr or "").strip().splitlines()[-1:] or [f"exit code {proc.returncode}"]
            return [Outcome(ok=False, error_types=("RunnerError",), message=tail[0])] * len(inputs)
        raw = json.loads(out.read_text(encoding="utf-8"))
    return [Outcome(ok=bool(r["ok"]), result=r.get("result"), error_types=tuple(r.get("types", ())),
                    message=str(r.get("message", ""))) for r in raw]


def run_failing(case: Case, patch: Mapping[str, str] | None = None, *, timeout: float = 30.0) -> Outcome:
    """Run the case's ``failing_data`` against the (patched) tree: what the sandbox re-run checks."""
    with patched_tree(case.app_dir, patch) as root:
        return run_inputs(root, case.app_module, case.handler, [case.failing_data], timeout=timeout)[0]


def check_acceptance(
    case: Case, patch: Mapping[str, str] | None = None, *, timeout: float = 30.0
) -> AcceptanceReport:
    """Judge every acceptance input of ``case`` against its app tree with ``patch`` applied."""
    with patched_tree(case.app_dir, patch) as root:
        outcomes = run_inputs(root, case.app_module, case.handler, [c.data for c in case.acceptance],
                              timeout=timeout)
    verdicts = tuple(InputVerdict(c, o, judge(c, o)) for c, o in zip(case.acceptance, outcomes, strict=True))
    return AcceptanceReport(case.id, verdicts)


def files_from_diff(case: Case, diff: str) -> dict[str, str] | None:
    """The changed files a unified diff of the pipeline's makes of ``case``'s app, or None if it does
    not apply. Lets the benchmark judge every candidate the sandbox passed, not only the last."""
    changed = sorted({line[6:] for line in diff.splitlines() if line.startswith("+++ b/")})
    if not changed:
        return None
    with patched_tree(case.app_dir) as root:
        done = subprocess.run(["patch", "-p1", "-s", "--batch", "-d", str(root)], input=diff, text=True,
                              capture_output=True, timeout=30, check=False)
        if done.returncode != 0:
            return None
        return {name: (root / _safe_relative(name)).read_text(encoding="utf-8") for name in changed}


def passed_rows(runs: Iterable[Path]) -> list[dict[str, Any]]:
    """The rows of FixBench ``--json`` outputs whose candidate the sandbox passed (verdict fixed or
    false_fix), with their diff: the recorded fixes the offline evaluations judge."""
    return [row for path in runs for row in json.loads(path.read_text())["rows"]
            if row["verdict"] in ("fixed", "false_fix") and row.get("diff")]


def print_tally(counts: Mapping[tuple[str, bool, bool], int]) -> None:
    """The summary of an offline check: per source, right results passed or flagged, wrong ones
    flagged or missed (``counts`` by (source, right, flagged))."""
    print()
    for source in ("reference", "naive", "recorded"):
        print(f"{source:<10} right: {counts.get((source, True, False), 0)} passed, "
              f"{counts.get((source, True, True), 0)} flagged | wrong: {counts.get((source, False, True), 0)} "
              f"flagged, {counts.get((source, False, False), 0)} missed")
