"""git for fix delivery: the ``git`` executable run with argument lists through ``subprocess`` (never a
shell), so text from a job or a model can only ever be one argument or stdin.

Why the executable and not a library: it is the program that made the user's repository, so every
format that repository may use (SHA-256 object names, linked worktrees, alternates, partial clones)
works as it does for the user; its plumbing (``hash-object``, ``update-index`` on a private index
file, ``commit-tree``, ``update-ref``) builds a commit without a working tree or the user's index.
dulwich would need its own support for each of those formats; GitPython runs this same executable
underneath and pygit2 adds a compiled libgit2 whose behaviour can differ from the user's git.

Every call runs with the user's hooks and file-system monitor off (``core.hooksPath=/dev/null``,
``core.fsmonitor=false``: no program the repository names runs), without optional locks (``git
status`` does not rewrite the index), without prompts, with pathspecs taken literally, and without
inherited ``GIT_*`` variables that could point it at another repository or index.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from smartworker.errors import DeliveryError

#: Longest a local git command may take; a push to a remote gets longer.
GIT_TIMEOUT_S = 60.0
PUSH_TIMEOUT_S = 180.0
#: Configuration every call overrides, whatever the repository's own config says.
_SAFE_CONFIG = (
    "-c", "core.hooksPath=/dev/null",
    "-c", "core.fsmonitor=false",
    "-c", "commit.gpgSign=false",
    "-c", "diff.noprefix=false",
    "-c", "diff.mnemonicPrefix=false",
    "-c", "core.quotePath=false",
)
#: Inherited GIT_* variables kept: they say how to reach a remote, not which repository to use.
_KEEP_ENV = frozenset({"GIT_SSH", "GIT_SSH_COMMAND", "GIT_SSH_VARIANT", "GIT_SSL_CAINFO", "GIT_SSL_CAPATH"})
#: Options that make ``format-patch`` output the plain, single-message form ``git am`` applies,
#: whatever ``format.*`` settings the repository has.
_PATCH_OPTIONS = ("--stdout", "--no-signature", "--no-cover-letter", "--no-attach", "--no-thread",
                  "--no-notes", "--no-signoff", "--no-ext-diff", "--no-textconv", "--no-color",
                  "--no-numbered")
#: The environment of a throw-away repository of our own: the host's git configuration stays out.
_ISOLATED = {"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull}
#: Tree entry modes that are not plain files: a fix never writes through them.
_NOT_FILES = frozenset({"120000", "160000", "040000"})


def sha256(content: bytes | None) -> str | None:
    """The hex SHA-256 of a file's bytes, None for a file that does not exist."""
    return None if content is None else hashlib.sha256(content).hexdigest()


def available() -> bool:
    """True when a ``git`` executable is on PATH."""
    return shutil.which("git") is not None


def _environment(extra: Mapping[str, str] | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_") or k in _KEEP_ENV}
    env.update({"GIT_TERMINAL_PROMPT": "0", "GIT_OPTIONAL_LOCKS": "0", "GIT_LITERAL_PATHSPECS": "1",
                "LC_ALL": "C", "LANG": "C"})
    env.update(extra or {})
    return env


def git(args: Sequence[str], *, cwd: Path, stdin: bytes | None = None, env: Mapping[str, str] | None = None,
        check: bool = True, timeout: float = GIT_TIMEOUT_S) -> subprocess.CompletedProcess[bytes]:
    """Run ``git ARGS`` in ``cwd``; DeliveryError naming the command when it fails (``check``) or hangs."""
    command = ["git", *_SAFE_CONFIG, *args]
    try:
        done = subprocess.run(command, cwd=cwd, input=stdin, capture_output=True, env=_environment(env),
                              timeout=timeout, check=False)
    except FileNotFoundError:
        raise DeliveryError("git is not installed") from None
    except subprocess.TimeoutExpired:
        raise DeliveryError(f"git {args[0]} did not finish within {timeout:.0f} s") from None
    if check and done.returncode != 0:
        raise DeliveryError(f"git {args[0]} failed: {_last_line(done.stderr)}")
    return done


def _last_line(stderr: bytes) -> str:
    lines = [ln.strip() for ln in stderr.decode("utf-8", "replace").splitlines() if ln.strip()]
    return lines[-1][:300] if lines else "no message"


def _text(done: subprocess.CompletedProcess[bytes]) -> str:
    return done.stdout.decode("utf-8", "replace").strip()


@dataclass(frozen=True)
class Identity:
    """Author and committer of a fix commit, set explicitly (never the user's git identity)."""

    name: str
    email: str

    def env(self, when_s: int) -> dict[str, str]:
        """The environment that makes ``commit-tree`` use this identity and time."""
        date = f"@{int(when_s)} +0000"
        return {"GIT_AUTHOR_NAME": self.name, "GIT_AUTHOR_EMAIL": self.email, "GIT_AUTHOR_DATE": date,
                "GIT_COMMITTER_NAME": self.name, "GIT_COMMITTER_EMAIL": self.email, "GIT_COMMITTER_DATE": date}


@dataclass(frozen=True)
class Repository:
    """The git work tree that holds APP_ROOT_DIR."""

    top: Path  #: the work tree's top directory, resolved
    prefix: str  #: APP_ROOT_DIR relative to ``top``, "" or ending in "/"
    isolated: bool = False  #: our own throw-away repository: no user or system git config

    def _git(self, args: Sequence[str], *, stdin: bytes | None = None, env: Mapping[str, str] | None = None,
             check: bool = True, timeout: float = GIT_TIMEOUT_S) -> subprocess.CompletedProcess[bytes]:
        extra = {**(_ISOLATED if self.isolated else {}), **(env or {})}
        return git(args, cwd=self.top, stdin=stdin, env=extra, check=check, timeout=timeout)

    @classmethod
    def of(cls, app_root: Path) -> tuple[Repository | None, str]:
        """The repository around ``app_root``, or None and the reason there is none to use."""
        if not available():
            return None, "git is not installed"
        root = app_root.resolve()
        if not root.is_dir():
            return None, f"APP_ROOT_DIR {root} is not a directory"
        done = git(["rev-parse", "--is-inside-work-tree", "--show-toplevel"], cwd=root, check=False)
        lines = _text(done).splitlines()
        if done.returncode != 0 or len(lines) < 2 or lines[0] != "true":
            why = _last_line(done.stderr) if done.returncode != 0 else "not inside a work tree"
            if "not a git repository" in why:
                return None, "APP_ROOT_DIR is not in a git repository"
            return None, f"APP_ROOT_DIR's git repository cannot be used: {why}"
        top = Path(lines[1]).resolve()
        if not root.is_relative_to(top):
            return None, "APP_ROOT_DIR is outside its repository's work tree"
        if _holds_our_source(top):
            # The bundled demo app and the test apps live in SmartWorker's own checkout: a fix of
            # them must not write branches into SmartWorker's repository.
            return None, "APP_ROOT_DIR is inside SmartWorker's own source repository"
        rel = root.relative_to(top).as_posix()
        return cls(top, "" if rel == "." else rel + "/"), ""

    # -- reading ----------------------------------------------------------------------------------
    def head(self) -> str | None:
        """The commit HEAD points at, None on an unborn branch."""
        done = self._git(["rev-parse", "--verify", "-q", "HEAD^{commit}"], check=False)
        return _text(done) if done.returncode == 0 and _text(done) else None

    def entry(self, commit: str | None, path: str) -> tuple[str, bytes] | None:
        """(mode, content) of ``path`` in ``commit``, None when it is not there."""
        if commit is None:
            return None
        listed = self._git(["ls-tree", "-z", "--full-tree", commit, "--", path]).stdout
        for item in listed.split(b"\0"):
            meta, _, name = item.partition(b"\t")
            if name.decode("utf-8", "replace") != path:
                continue
            mode, kind, oid = meta.decode().split()
            if mode in _NOT_FILES or kind != "blob":
                raise DeliveryError(f"{path} is not a regular file in the repository (mode {mode})")
            return mode, self._git(["cat-file", "blob", oid]).stdout
        return None

    def branch_exists(self, branch: str) -> bool:
        """True when ``refs/heads/<branch>`` exists."""
        return self._git(["show-ref", "--verify", "-q", f"refs/heads/{branch}"], check=False).returncode == 0

    def dirty(self, paths: Sequence[str]) -> list[str]:
        """Those of ``paths`` whose working-tree or index state differs from HEAD (or are untracked)."""
        if not paths:
            return []
        out = self._git(["status", "--porcelain=v1", "-z", "--untracked-files=all", "--", *paths]).stdout
        found: list[str] = []
        entries = iter(out.split(b"\0"))
        for entry in entries:
            if len(entry) < 4:
                continue
            status, name = entry[:2].decode(), entry[3:].decode("utf-8", "replace")
            found.append(name)
            if "R" in status or "C" in status:
                next(entries, None)  # a rename's second name
        return found

    # -- writing (objects and one new ref; never the index, HEAD or the working tree) --------------
    def commit(self, parent: str | None, files: Mapping[str, bytes], message: str, identity: Identity,
               when_s: int) -> str:
        """A commit object: ``parent``'s tree with ``files`` (repository paths) replaced, made on a
        private index file; no ref, HEAD, index or working-tree file changes."""
        with tempfile.TemporaryDirectory(prefix="sw-index-") as tmp:
            index = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
            if parent is not None:
                self._git(["read-tree", parent], env=index)
            for path, content in files.items():
                existing = self.entry(parent, path)
                oid = _text(self._git(["hash-object", "-w", "--no-filters", "--stdin"], stdin=content))
                mode = existing[0] if existing else "100644"
                self._git(["update-index", "--add", "--cacheinfo", f"{mode},{oid},{path}"], env=index)
            tree = _text(self._git(["write-tree"], env=index))
        args = ["commit-tree", tree, "-F", "-"] + (["-p", parent] if parent else [])
        return _text(self._git(args, stdin=message.encode("utf-8"), env=identity.env(when_s)))

    def create_branch(self, branch: str, commit: str) -> None:
        """Point a new branch at ``commit``; DeliveryError when it exists already (never moved)."""
        self._git(["update-ref", "-m", "smartworker: verified fix", f"refs/heads/{branch}", commit, ""])

    def format_patch(self, commit: str) -> str:
        """``git format-patch`` of one commit: an mbox message that ``git am`` applies."""
        return self._git(["format-patch", "-1", *_PATCH_OPTIONS, commit]).stdout.decode("utf-8", "replace")

    def remote_url(self, remote: str) -> str | None:
        """The URL of a configured remote, None when ``remote`` is not a remote's name."""
        done = self._git(["remote", "get-url", "--push", remote], check=False)
        return _text(done) if done.returncode == 0 else None

    def push(self, remote: str, commit: str, branch: str, env: Mapping[str, str] | None = None) -> None:
        """Push ``commit`` to ``refs/heads/<branch>`` on ``remote`` (pre-push hooks off)."""
        self._git(["push", "--no-verify", "--porcelain", remote, f"{commit}:refs/heads/{branch}"], env=env,
                  timeout=PUSH_TIMEOUT_S)


def merge_file(ours: bytes, base: bytes, theirs: bytes) -> bytes | None:
    """Three-way merge of one file's contents (``git merge-file``); None when the changes overlap."""
    with tempfile.TemporaryDirectory(prefix="sw-merge-") as tmp:
        names = []
        for label, content in (("ours", ours), ("base", base), ("theirs", theirs)):
            path = Path(tmp) / label
            path.write_bytes(content)
            names.append(str(path))
        done = git(["merge-file", "-p", "-q", *names], cwd=Path(tmp), check=False)
    if done.returncode == 0:
        return done.stdout
    if done.returncode > 0:
        return None
    raise DeliveryError(f"git merge-file failed: {_last_line(done.stderr)}")


def standalone_patch(files: Mapping[str, tuple[bytes | None, bytes]], message: str, identity: Identity,
                     when_s: int) -> str:
    """A ``git format-patch`` file for a tree that is not in git: the originals and the fixed files are
    committed in a throw-away repository (with no user or system git config) and formatted."""
    with tempfile.TemporaryDirectory(prefix="sw-patch-") as tmp:
        top = Path(tmp).resolve()
        git(["init", "-q", "--template=", str(top)], cwd=top, env=_ISOLATED)
        repo = Repository(top, "", isolated=True)
        before = {path: old for path, (old, _) in files.items() if old is not None}
        base = repo.commit(None, before, "originals", identity, when_s) if before else None
        fixed = repo.commit(base, {path: new for path, (_, new) in files.items()}, message, identity, when_s)
        return repo.format_patch(fixed)


def _holds_our_source(top: Path) -> bool:
    """True when ``top`` is a checkout of SmartWorker itself (an editable install's source tree)."""
    import smartworker

    package = Path(smartworker.__file__).resolve().parent
    installed = {"site-packages", "dist-packages"} & set(package.parts)
    return not installed and package.is_relative_to(top)
