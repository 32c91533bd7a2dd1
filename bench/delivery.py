"""What delivering a verified fix adds to a resolution: the branch (git plumbing on a private index)
and the format-patch file, in a repository with uncommitted work and outside git (a throw-away
repository), side by side with one ``git status`` in the same repository as the unit.

    PYTHONPATH=src python bench/delivery.py [--runs 15]

Runs alternate between the kinds so machine noise hits them alike.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from smartworker.config import load_settings
from smartworker.fixes.delivery import prepare
from smartworker.reasoning.edits import unified_diff
from smartworker.reasoning.records import FixRecord, FixStatus

SOURCE = 'def greet(data):\n    name = data.get("name")\n    return {"greeting": f"Hello, {name.strip()}!"}\n'
FIXED = SOURCE.replace('data.get("name")', 'data.get("name") or data.get("full_name") or ""')
GIT_ENV = {**{k: v for k, v in os.environ.items() if not k.startswith("GIT_")}, "GIT_AUTHOR_NAME": "u",
           "GIT_AUTHOR_EMAIL": "u@x", "GIT_COMMITTER_NAME": "u", "GIT_COMMITTER_EMAIL": "u@x",
           "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, env=GIT_ENV, check=True, capture_output=True)


def _tree(root: Path, in_git: bool) -> None:
    (root / "shop").mkdir(parents=True)
    (root / "shop" / "tasks.py").write_text(SOURCE)
    if in_git:
        _git(root, "init", "-q")
        _git(root, "add", "-A")
        _git(root, "commit", "-q", "-m", "init")
        (root / "NOTES.md").write_text("uncommitted\n")


def _record() -> FixRecord:
    record = FixRecord.new("q__1", "q", "1", "greet")
    record.status, record.signature = FixStatus.FIXED, "AttributeError: 'NoneType' object has no attribute 'strip'"
    record.diff = unified_diff({"shop/tasks.py": SOURCE}, {"shop/tasks.py": FIXED})
    return record


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    times: dict[str, list[float]] = {"git": [], "plain": [], "git status": []}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.runs):
            for kind in ("git", "plain"):
                root = Path(tmp) / f"{kind}{i}"
                _tree(root, kind == "git")
                settings = load_settings(_env_file=None, root_dir=root, app_module="shop")
                started = time.perf_counter()
                prepare(settings, _record(), {"shop/tasks.py": FIXED})
                times[kind].append(time.perf_counter() - started)
                if kind == "git":
                    started = time.perf_counter()
                    _git(root, "status", "--porcelain")
                    times["git status"].append(time.perf_counter() - started)
    baseline = statistics.median(times["git status"])
    for kind, label in (("git", "branch + patch (in git)"), ("plain", "patch alone (outside git)")):
        p50 = statistics.median(times[kind])
        print(f"{label:28} p50 {p50 * 1000:6.0f} ms  ratio to one git status {p50 / baseline:5.1f}x")
    print(f"{'one git status':28} p50 {baseline * 1000:6.1f} ms")


if __name__ == "__main__":
    main()
