"""Validating the file changes an LLM proposes, and their diff.

The blocks come from :func:`smartworker.reasoning.reply.parse_reply` (re-exported here);
:func:`validate` turns them into a :class:`Proposal` or raises
:class:`~smartworker.errors.ProposalRejectedError` with a reason that can be fed back to the model.
A rejected proposal is never applied.

MEASURED.md says the small local model often returns the file unchanged, or one function "as the
complete file". So a Python block that omits some of the module's top-level definitions is taken
as a partial edit and spliced into the original by name (:mod:`smartworker.reasoning.splice`), and a proposal
that changes nothing is rejected with :class:`~smartworker.errors.UnchangedProposalError`.
"""

from __future__ import annotations

import difflib
import json
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from smartworker.errors import ProposalRejectedError, UnchangedProposalError
from smartworker.metrics import gate
from smartworker.reasoning.reply import FileBlock, parse_reply
from smartworker.reasoning.splice import add_missing_imports, merge_python, python_error, splice_function
from smartworker.redaction import REDACTED

__all__ = ["ALLOWED_SUFFIXES", "DEFAULT_MAX_BYTES", "FileBlock", "Proposal", "add_missing_imports", "check_path",
           "merge_python", "parse_reply", "splice_function", "unified_diff", "validate"]

#: Largest file a proposal may write.
DEFAULT_MAX_BYTES = 256 * 1024

#: Suffixes a proposal may write. Handlers are Python; the text data files they commonly read
#: (fixtures, configuration, CSV tables) are allowed so a fix can correct data. Everything a
#: loader would execute or trust beyond Python source is refused: shell scripts, ``.pth`` files
#: (run by ``site`` at start-up), compiled or binary files, and files without a suffix.
ALLOWED_SUFFIXES = frozenset({".py", ".json", ".txt", ".cfg", ".ini", ".toml", ".yaml", ".yml", ".csv"})

# Marker that context.read_sources appends to a capped file: a reply that contains it echoed a
# truncated source, and applying it would cut the real file.
_TRUNCATION_MARKER = "# [truncated by SmartWorker"


@dataclass
class Proposal:
    """A validated change: new contents by relative path, ready to verify in the sandbox."""

    files: dict[str, str]  #: relative posix path -> new content (changed files only)
    #: relative path -> content before, for the files that existed
    originals: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  #: what validation did: splices, dropped blocks

    @property
    def changed_paths(self) -> list[str]:
        """Paths whose content differs from the original (new files included), sorted."""
        return sorted(p for p, text in self.files.items() if self.originals.get(p) != text)

    def diff(self) -> str:
        """The proposal as a unified diff with ``a/`` and ``b/`` paths."""
        return unified_diff(self.originals, self.files)


# -- validation ------------------------------------------------------------------------------------


def _reject(reason: str) -> ProposalRejectedError:
    return ProposalRejectedError(reason)


def check_path(path: str, app_root: Path, allowed_suffixes: Iterable[str] = ALLOWED_SUFFIXES) -> str:
    """The normalised relative posix path a proposal may write, or raise ProposalRejectedError.

    Refused: empty, absolute (``/x``, ``C:``, ``~``), backslashes, ``..``, hidden components
    (``.git``, ``.github`` workflows, ``.env``), a suffix outside ``allowed_suffixes``, and anything
    that resolves outside ``app_root`` once symlinks are followed.
    """
    if not path or "\x00" in path or path != path.strip():
        raise _reject(f"{path!r}: not a usable path")
    if "\\" in path:
        raise _reject(f"{path}: backslashes are not allowed in paths; use '/'")
    pure = PurePosixPath(path)
    if pure.is_absolute() or re.match(r"^[A-Za-z]:", path) or path.startswith("~"):
        raise _reject(f"{path}: absolute paths are not allowed; give a path relative to the app root")
    if ".." in pure.parts:
        raise _reject(f"{path}: '..' is not allowed in paths")
    if not pure.parts:
        raise _reject(f"{path!r}: not a file path")
    if any(part.startswith(".") for part in pure.parts):
        raise _reject(f"{path}: hidden files and directories may not be changed")
    if pure.suffix not in frozenset(allowed_suffixes):
        raise _reject(f"{path}: files of type {pure.suffix or '(none)'!r} may not be changed")
    root = app_root.resolve()
    try:
        target = (root / pure).resolve()
    except (OSError, RuntimeError) as exc:  # a symlink loop
        raise _reject(f"{path}: cannot be resolved ({exc})") from None
    if not target.is_relative_to(root):
        raise _reject(f"{path}: resolves outside the app root")
    if target.exists() and not target.is_file():
        raise _reject(f"{path}: is not a regular file")
    return pure.as_posix()


def _data_error(path: str, text: str) -> str | None:
    try:
        if path.endswith(".json"):
            json.loads(text)
        elif path.endswith(".toml"):
            tomllib.loads(text)
    except ValueError as exc:  # JSONDecodeError and TOMLDecodeError are ValueErrors
        return str(exc)
    return None


def _same(a: str, b: str) -> bool:
    """Equal once trailing whitespace and blank edges are ignored."""

    def norm(s: str) -> list[str]:
        return [ln.rstrip() for ln in s.replace("\r\n", "\n").strip("\n").split("\n")]

    return norm(a) == norm(b)


def _read_original(app_root: Path, rel: str) -> str | None:
    target = app_root.resolve() / rel
    if not target.is_file():
        return None
    try:
        return target.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise _reject(f"{rel}: the original cannot be read ({exc})") from None


@gate("proposal")
def validate(
    blocks: list[FileBlock],
    app_root: Path,
    originals: Mapping[str, str] | None = None,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    allowed_suffixes: Iterable[str] = ALLOWED_SUFFIXES,
) -> Proposal:
    """Check the blocks and build a :class:`Proposal`, or raise ProposalRejectedError.

    ``originals`` maps relative paths to the files' real current contents; paths missing from it
    are read from disk. Do not pass ``FailureContext.sources``: they are redacted and capped, and
    splicing into them would write ``[REDACTED]`` into the file. Partial Python blocks are spliced
    (see :func:`merge_python`); blocks equal to the original are dropped, and if nothing is left the
    error is UnchangedProposalError.
    """
    if not blocks:
        raise _reject("no file blocks: the reply must contain '# File: <path>' followed by the file")
    allowed = frozenset(allowed_suffixes)
    given = dict(originals or {})
    notes: list[str] = []
    merged: dict[str, str] = {}
    for block in blocks:
        rel = check_path(block.path, app_root, allowed)
        if rel in merged:
            notes.append(f"{rel}: given more than once; the last block wins")
        merged[rel] = block.content

    files: dict[str, str] = {}
    before: dict[str, str] = {}
    unchanged: list[str] = []
    for rel, content in merged.items():
        size = len(content.encode("utf-8"))
        if size > max_bytes:
            raise _reject(f"{rel}: {size} bytes is over the {max_bytes}-byte limit")
        if not content.strip():
            raise _reject(f"{rel}: the block is empty")
        original = given[rel] if rel in given else _read_original(app_root, rel)
        if REDACTED in content and (original is None or REDACTED not in original):
            raise _reject(f"{rel}: contains the placeholder {REDACTED}; keep the original values")
        if _TRUNCATION_MARKER in content and (original is None or _TRUNCATION_MARKER not in original):
            raise _reject(f"{rel}: copies a truncated source; return whole functions instead")
        new = content
        if rel.endswith(".py"):
            error = python_error(content)
            if error:
                raise _reject(f"{rel}: not valid Python ({error})")
            if original is not None:
                new, splice_notes = merge_python(original, content)
                notes.extend(f"{rel}: {note}" for note in splice_notes)
                error = python_error(new)
                if error:  # pragma: no cover - splice_function re-parses; kept as a last guard
                    raise _reject(f"{rel}: the spliced module is not valid Python ({error})")
            new, import_notes = add_missing_imports(original, new)
            notes.extend(f"{rel}: {note}" for note in import_notes)
        else:
            error = _data_error(rel, content)
            if error:
                raise _reject(f"{rel}: not valid {PurePosixPath(rel).suffix[1:].upper()} ({error})")
        if len(new.encode("utf-8")) > max_bytes:
            raise _reject(f"{rel}: the result is over the {max_bytes}-byte limit")
        if original is not None and _same(original, new):
            unchanged.append(rel)
            continue
        files[rel] = new
        if original is not None:
            before[rel] = original
    if not files:
        raise UnchangedProposalError(
            f"unchanged: the reply returned {', '.join(unchanged)} exactly as it was; change the failing line"
        )
    notes.extend(f"{rel}: unchanged, dropped" for rel in unchanged)
    return Proposal(files=files, originals=before, notes=notes)


# -- diff ------------------------------------------------------------------------------------------


def unified_diff(originals: Mapping[str, str], changed: Mapping[str, str]) -> str:
    """A unified diff of every changed file (``a/path`` -> ``b/path``; new files from /dev/null)."""
    out: list[str] = []
    for path in sorted(changed):
        old = originals.get(path)
        new = changed[path]
        if old == new:
            continue
        diff = difflib.unified_diff(
            (old or "").splitlines(keepends=True),
            new.splitlines(keepends=True),
            fromfile=f"a/{path}" if old is not None else "/dev/null",
            tofile=f"b/{path}",
        )
        for line in diff:
            out.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    return "".join(out)
