"""A user's git repository for the fix-delivery tests: real git, with work of the user's own in it
(a modified file, a staged file, an untracked file) and hooks that would leave a mark if they ran."""

from __future__ import annotations

import hashlib
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

USER_ENV = {"GIT_AUTHOR_NAME": "Ada", "GIT_AUTHOR_EMAIL": "ada@example.com", "GIT_COMMITTER_NAME": "Ada",
            "GIT_COMMITTER_EMAIL": "ada@example.com", "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull}

#: A hook body that writes a marker file: any hook that runs leaves "<hook>" in HOOK_MARKS.
HOOK_MARKS = "hook-ran.txt"
HOOKS = ("pre-commit", "commit-msg", "post-commit", "reference-transaction", "pre-push", "post-checkout",
         "post-merge", "pre-applypatch", "post-applypatch")


def git(repo: Path, *args: str, stdin: str | None = None) -> str:
    """Run git as the user would (their identity, no global config); the output, stripped. The test's
    own commands skip the marking hooks: those are there to catch SmartWorker running one."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")} | USER_ENV
    command = ["git", "-c", "core.hooksPath=/dev/null", *args]
    done = subprocess.run(command, cwd=repo, env=env, input=stdin, capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"git {' '.join(args)}: {done.stderr}"
    return done.stdout.strip()


def make_repo(top: Path, files: dict[str, str]) -> Path:
    """A repository at ``top`` with ``files`` committed on branch ``main``, and marking hooks installed."""
    top.mkdir(parents=True, exist_ok=True)
    git(top, "init", "-q", "-b", "main")
    for rel, text in files.items():
        path = top / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    git(top, "add", "-A")
    git(top, "commit", "-q", "-m", "the user's code")
    hooks = top / ".git" / "hooks"
    for name in HOOKS:
        hook = hooks / name
        hook.write_text(f"#!/bin/sh\necho {name} >> '{top / HOOK_MARKS}'\nexit 1\n")
        hook.chmod(0o755)
    return top


def add_own_work(top: Path) -> None:
    """The user's uncommitted work: a modified file, a staged new file, an untracked file."""
    (top / "NOTES.md").write_text("work in progress\n")
    (top / "staged.txt").write_text("staged by the user\n")
    git(top, "add", "staged.txt")
    (top / "scratch.txt").write_text("untracked\n")


@dataclass(frozen=True)
class UserState:
    """Everything of the user's that fix delivery must leave alone."""

    head: str
    branch: str
    index: str  #: sha256 of .git/index
    status: str
    worktree: str  #: sha256 over every working-tree file outside .git

    @classmethod
    def of(cls, top: Path) -> UserState:
        """Read it without writing anything (no optional index refresh)."""
        files = sorted(p for p in top.rglob("*") if p.is_file()
                       and not {".git", "__pycache__"} & set(p.relative_to(top).parts))
        digest = hashlib.sha256()
        for path in files:
            digest.update(str(path.relative_to(top)).encode() + b"\0" + path.read_bytes())
        return cls(head=git(top, "rev-parse", "HEAD"), branch=git(top, "symbolic-ref", "HEAD"),
                   index=hashlib.sha256((top / ".git" / "index").read_bytes()).hexdigest(),
                   status=git(top, "--no-optional-locks", "status", "--porcelain"), worktree=digest.hexdigest())
