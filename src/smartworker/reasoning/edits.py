"""Parsing and validating the file changes an LLM proposes.

The model answers with blocks that start with ``# File: <path relative to APP_ROOT_DIR>``.
:func:`parse_reply` finds them in whatever shape the reply arrives (fenced, unfenced, JSON-escaped,
wrapped in prose); :func:`validate` turns them into a :class:`Proposal` or raises
:class:`~smartworker.errors.ProposalRejectedError` with a reason that can be fed back to the model.
A rejected proposal is never applied.

MEASURED.md says the small local model often returns the file unchanged, or one function "as the
complete file". So a Python block that omits some of the module's top-level definitions is taken
as a partial edit and spliced into the original by name (:func:`splice_function`), and a proposal
that changes nothing is rejected with :class:`~smartworker.errors.UnchangedProposalError`.
"""

from __future__ import annotations

import ast
import difflib
import json
import re
import sys
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from smartworker.errors import ProposalRejectedError, UnchangedProposalError
from smartworker.redaction import REDACTED

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


@dataclass(frozen=True)
class FileBlock:
    """One file as the model wrote it: a path relative to APP_ROOT_DIR and the full text."""

    path: str
    content: str


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


# -- parsing ---------------------------------------------------------------------------------------

_HEADER = re.compile(
    r"^[ \t]*(?:#+|//)?[ \t]*\**[ \t]*(?:File|FILE|file|Filename|filename)\**[ \t]*:"
    r"[ \t]*\**[ \t]*(?P<path>\S.*?)[ \t]*$"
)
_FENCE = re.compile(
    r"^[ \t]*(?P<fence>`{3,}|~{3,})[^\n`]*\n(?P<body>.*?)(?:^[ \t]*(?P=fence)[ \t]*$|\Z)",
    re.MULTILINE | re.DOTALL,
)
_ESCAPE = re.compile(r"\\(r\\n|[nrt\"'\\/])")
_ESCAPES = {"n": "\n", "r\\n": "\n", "r": "", "t": "\t", '"': '"', "'": "'", "\\": "\\", "/": "/"}
# Lines copied from a focused snippet ('>>> 18 | code', '    17 | code').
_NUMBERED = re.compile(r"^(?:>>>|   ) +\d+ \|(?: |$)")
_JSON_KEYS = (
    "files",
    "content",
    "code",
    "text",
    "reply",
    "answer",
    "response",
    "output",
    "message",
    "choices",
)
_MAX_JSON_DEPTH = 8
_MAX_JSON_STARTS = 20


def _clean_path(raw: str) -> str:
    """The path of a header: first token, without quotes, backticks, emphasis or a trailing colon."""
    token = raw.strip().split()[0] if raw.strip() else ""
    return token.strip("`*\"'").rstrip(":").strip("`*\"'")


def _header_path(line: str) -> str | None:
    m = _HEADER.match(line)
    if not m:
        return None
    path = _clean_path(m["path"])
    return path or None


def _clean_content(text: str) -> str:
    """Normalise newlines and strip the blank edges a model adds; undo copied snippet numbering."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    numbered = [ln for ln in lines if ln.strip()]
    if len(numbered) >= 2 and all(_NUMBERED.match(ln) for ln in numbered):
        lines = [_NUMBERED.sub("", ln) if ln.strip() else ln for ln in lines]
    text = "\n".join(lines).strip("\n")
    return text + "\n" if text.strip() else ""


def _split_on_headers(text: str, first_path: str | None) -> list[FileBlock]:
    """Split text on ``# File:`` lines; text before the first header belongs to ``first_path``."""
    blocks: list[FileBlock] = []
    path: str | None = first_path
    lines: list[str] = []
    for line in text.split("\n"):
        header = _header_path(line)
        if header is not None:
            if path is not None and "".join(lines).strip():
                blocks.append(FileBlock(path, _clean_content("\n".join(lines))))
            path, lines = header, []
        else:
            lines.append(line)
    if path is not None and "".join(lines).strip():
        blocks.append(FileBlock(path, _clean_content("\n".join(lines))))
    return blocks


def _parse_text(text: str, default_path: str | None) -> list[FileBlock]:
    fences = list(_FENCE.finditer(text))
    if not fences:
        unfenced = _split_on_headers(text, None)
        if not unfenced and default_path and _is_python(text):
            unfenced = [FileBlock(default_path, _clean_content(text))]
        return unfenced
    blocks: list[FileBlock] = []
    pathless: list[str] = []
    previous_end = 0
    for fence in fences:
        before = [ln for ln in text[previous_end : fence.start()].split("\n") if ln.strip()]
        previous_end = fence.end()
        path_before = _header_path(before[-1]) if before else None
        found = _split_on_headers(fence["body"], path_before)
        if found:
            blocks.extend(found)
        elif fence["body"].strip():
            pathless.append(fence["body"])
    # A fence without a path goes to default_path only when it is the one such fence: a second
    # one is usually an example of how to call the code, not the file.
    if not blocks and default_path and len(pathless) == 1:
        blocks.append(FileBlock(default_path, _clean_content(pathless[0])))
    return blocks


def _is_python(text: str) -> bool:
    try:
        ast.parse(text)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return False
    return bool(text.strip())


def _from_json(value: Any, default_path: str | None, depth: int) -> list[FileBlock]:
    """Blocks from a decoded JSON reply: a string, a {path, content} object, a files list or map."""
    if depth > _MAX_JSON_DEPTH:
        return []
    if isinstance(value, str):
        return _parse(value, default_path, depth + 1)
    if isinstance(value, list):
        return [b for item in value for b in _from_json(item, default_path, depth + 1)]
    if not isinstance(value, dict):
        return []
    path = next((value[k] for k in ("path", "file", "filename") if isinstance(value.get(k), str)), None)
    content = next((value[k] for k in ("content", "code", "source") if isinstance(value.get(k), str)), None)
    if path is not None and content is not None:
        inner = _split_on_headers(_unescape(content), path)
        return [FileBlock(_clean_path(path) or path, b.content) if b.path == path else b for b in inner]
    files = value.get("files")
    if isinstance(files, dict) and all(isinstance(v, str) for v in files.values()):
        return [FileBlock(str(p), _clean_content(_unescape(c))) for p, c in files.items()]
    for key in _JSON_KEYS:
        if key in value:
            found = _from_json(value[key], default_path, depth + 1)
            if found:
                return found
    return []


def _unescape(text: str) -> str:
    """Undo JSON-style escaping when the text has more literal ``\\n`` than real newlines.

    Python source has real newlines on every line and a literal ``\\n`` only in some strings, so
    the comparison does not fire on ordinary code.
    """
    if text.count("\\n") > text.count("\n"):
        return _ESCAPE.sub(lambda m: _ESCAPES[m[1]], text)
    return text


def _parse(text: str, default_path: str | None, depth: int) -> list[FileBlock]:
    stripped = text.strip()
    if stripped[:1] in ("{", "[", '"'):
        try:
            decoded = json.loads(stripped)
        except (ValueError, RecursionError):
            pass
        else:
            return _from_json(decoded, default_path, depth)
    blocks = _parse_text(_unescape(text), default_path)
    if blocks:
        return blocks
    # A JSON object after some prose ("Here is the fix: {...}"), searched in the text as it came,
    # since unescaping would have broken the JSON's own escapes.
    decoder = json.JSONDecoder()
    for start in [m.start() for m in re.finditer(r"\{", text)][:_MAX_JSON_STARTS]:
        try:
            decoded, _ = decoder.raw_decode(text, start)
        except (ValueError, RecursionError):
            continue
        found = _from_json(decoded, default_path, depth + 1)
        if found:
            return found
    return []


def parse_reply(text: str, *, default_path: str | None = None) -> list[FileBlock]:
    """The file blocks of an LLM reply, in order; ``[]`` when there are none. Never raises.

    A block starts with ``# File: <path>`` (inside a fence, or on the line just before it, or
    unfenced up to the next header). JSON replies (a string, ``{"path", "content"}``, ``{"files":
    ...}``) and literal ``\\n`` escapes are undone first. ``default_path`` names the file for a
    reply that is a single fence (or bare Python) with no header, e.g. when one function was asked for.
    """
    try:
        return _parse(text, default_path, 0)
    except (RecursionError, MemoryError):
        return []


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


def _python_error(text: str) -> str | None:
    try:
        ast.parse(text)
    except SyntaxError as exc:
        return f"line {exc.lineno}: {exc.msg}"
    except (ValueError, RecursionError, MemoryError) as exc:
        return str(exc) or type(exc).__name__
    return None


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
            error = _python_error(content)
            if error:
                raise _reject(f"{rel}: not valid Python ({error})")
            if original is not None:
                new, splice_notes = merge_python(original, content)
                notes.extend(f"{rel}: {note}" for note in splice_notes)
                error = _python_error(new)
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


# -- splicing --------------------------------------------------------------------------------------

_Def = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
_DEF_TYPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def _span(node: ast.stmt) -> tuple[int, int]:
    """1-based first and last line of a statement, decorators included."""
    start = node.lineno
    if isinstance(node, _DEF_TYPES) and node.decorator_list:
        start = min(start, *(d.lineno for d in node.decorator_list))
    return start, node.end_lineno or node.lineno


def _assigned_name(node: ast.stmt) -> str | None:
    """The name a simple top-level assignment binds (``X = ...``, ``X: T = ...``), else None."""
    if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
        return node.targets[0].id
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return node.target.id
    return None


def _named(body: list[ast.stmt]) -> dict[str, ast.stmt]:
    """Top-level definitions and simple assignments by name (the last one wins, as in Python)."""
    out: dict[str, ast.stmt] = {}
    for node in body:
        if isinstance(node, _DEF_TYPES):
            out[node.name] = node
        else:
            name = _assigned_name(node)
            if name is not None:
                out[name] = node
    return out


def _imports(body: list[ast.stmt]) -> set[tuple[str, str, str | None]]:
    """What the top-level import statements of a module bind, as :func:`_import_keys`."""
    return {key for node in body if isinstance(node, ast.Import | ast.ImportFrom) for key in _import_keys(node)}


def _import_keys(node: ast.Import | ast.ImportFrom) -> set[tuple[str, str, str | None]]:
    if isinstance(node, ast.Import):
        return {("", a.name, a.asname) for a in node.names}
    module = "." * node.level + (node.module or "")
    return {(module, a.name, a.asname) for a in node.names}


def _segment(lines: list[str], node: ast.stmt) -> str:
    start, end = _span(node)
    return "".join(lines[start - 1 : end])


def _reindent(text: str, from_col: int, to_col: int) -> str:
    """Move a block from one indentation to another; lines indented less (strings) stay."""
    if from_col == to_col:
        return text
    out = []
    for line in text.splitlines(keepends=True):
        if line.strip() and line[:from_col].strip() == "":
            line = " " * to_col + line[from_col:]
        out.append(line)
    return "".join(out)


def _find(body: list[ast.stmt], parts: list[str]) -> _Def | None:
    """The last definition at ``parts`` ("Class", "method") inside ``body``."""
    found: _Def | None = None
    for node in body:
        if isinstance(node, _DEF_TYPES) and node.name == parts[0]:
            found = node
    if found is None or len(parts) == 1:
        return found
    return _find(found.body, parts[1:]) if isinstance(found, ast.ClassDef) else None


def _parse_fragment(source: str) -> tuple[ast.Module, str]:
    try:
        return ast.parse(source), source
    except SyntaxError:
        dedented = _dedent(source)
        try:
            return ast.parse(dedented), dedented
        except SyntaxError as exc:
            raise _reject(f"the new code is not valid Python (line {exc.lineno}: {exc.msg})") from None


def _dedent(source: str) -> str:
    lines = [ln for ln in source.splitlines() if ln.strip()]
    if not lines:
        return source
    col = min(len(ln) - len(ln.lstrip()) for ln in lines)
    return _reindent(source, col, 0)


def _ensure_newline(text: str) -> str:
    return text if text.endswith("\n") else text + "\n"


def splice_function(original_source: str, new_function_source: str, name: str) -> str:
    """Replace the top-level function or class ``name`` of a module by its new definition.

    ``name`` may be ``Class.method``. ``new_function_source`` may hold more than the definition
    (imports, other functions); only ``name`` is taken, decorators included, re-indented to the
    original's level. A top-level name the module lacks is appended to it; a method whose class is
    missing raises ProposalRejectedError, as does a result that is not valid Python.
    """
    parts = name.split(".")
    new_tree, new_text = _parse_fragment(new_function_source)
    node = _find(new_tree.body, parts) or _find(new_tree.body, parts[-1:])
    if node is None:
        raise _reject(f"the new code does not define {name}")
    new_lines = new_text.splitlines(keepends=True)
    segment = _ensure_newline(_segment(new_lines, node))
    try:
        tree = ast.parse(original_source)
    except SyntaxError as exc:
        raise _reject(f"the original module is not valid Python (line {exc.lineno}); cannot splice") from None
    lines = original_source.splitlines(keepends=True)
    if lines:
        lines[-1] = _ensure_newline(lines[-1])
    target = _find(tree.body, parts)
    if target is not None:
        start, end = _span(target)
        segment = _reindent(segment, node.col_offset, target.col_offset)
        lines[start - 1 : end] = [segment]
    elif len(parts) == 1:
        body = "".join(lines).rstrip("\n")
        result = (body + "\n\n\n" if body else "") + _reindent(segment, node.col_offset, 0)
        lines = [result]
    else:
        owner = _find(tree.body, parts[:-1])
        if not isinstance(owner, ast.ClassDef):
            raise _reject(f"cannot add {name}: no class {'.'.join(parts[:-1])} in the module")
        end = owner.end_lineno or owner.lineno
        indent = owner.body[0].col_offset if owner.body else owner.col_offset + 4
        lines[end:end] = ["\n", _reindent(segment, node.col_offset, indent)]
    result = "".join(lines)
    error = _python_error(result)
    if error:
        raise _reject(f"splicing {name} gives invalid Python ({error})")
    return result


def _insert_lines(source: str, after_line: int, text: str) -> str:
    lines = source.splitlines(keepends=True)
    if lines:
        lines[-1] = _ensure_newline(lines[-1])
    lines[after_line:after_line] = [_ensure_newline(text)]
    return "".join(lines)


def _import_anchor(tree: ast.Module, future: bool) -> int:
    """The line after which a new import goes: after the imports, or the docstring."""
    body = tree.body
    anchor = 0
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        anchor = body[0].end_lineno or 0
    for node in body:
        is_future = isinstance(node, ast.ImportFrom) and node.module == "__future__"
        # a __future__ import must stay first, so it goes after the other __future__ imports only
        if is_future or (isinstance(node, ast.Import | ast.ImportFrom) and not future):
            anchor = node.end_lineno or anchor
    return anchor


def _bound_names(tree: ast.Module) -> set[str]:
    """Every name the module binds anywhere: imports, definitions, assignments, parameters."""
    bound: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            bound |= {(alias.asname or alias.name).split(".")[0] for alias in node.names}
        elif isinstance(node, _DEF_TYPES):
            bound.add(node.name)
        elif isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            bound.add(node.id)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
        elif isinstance(node, ast.Global | ast.Nonlocal):
            bound |= set(node.names)
    return bound


def _unimported_modules(tree: ast.Module) -> set[str]:
    """Standard-library modules the code uses as ``module.attr`` but never imports or binds."""
    used = {node.value.id for node in ast.walk(tree)
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
            and isinstance(node.value.ctx, ast.Load)}
    # datetime is left out: ``datetime.now()`` means the class, which ``import datetime`` is not.
    return {name for name in used if name in sys.stdlib_module_names and name != "datetime"} - _bound_names(tree)


def add_missing_imports(original: str | None, new: str) -> tuple[str, list[str]]:
    """``new`` with an ``import`` added for each standard-library module it uses without importing
    it, where the original did not already do so; and notes on what was added.

    The local model writes ``json.loads(options)`` into a module that never imported json, and the
    sandbox then reports a NameError instead of judging the fix (FixBench, session 10). The name
    was unbound, so the import changes nothing but that error.
    """
    try:
        tree = ast.parse(new)
        before = _unimported_modules(ast.parse(original)) if original is not None else set()
    except SyntaxError:
        return new, []
    missing = sorted(_unimported_modules(tree) - before)
    if not missing:
        return new, []
    text = "".join(f"import {name}\n" for name in missing)
    return _insert_lines(new, _import_anchor(tree, future=False), text), [f"added import: {name}" for name in missing]


def merge_python(original: str, block: str) -> tuple[str, list[str]]:
    """The module a Python block means, and notes on what was spliced.

    A block that keeps every top-level function, class, named assignment and import of the original
    is a whole file and replaces it. One that omits some would delete them, so it is taken as a
    partial edit: each definition and named assignment in it replaces the original's by name (new
    ones are added), imports it adds are inserted, and everything else of the original stays. (A
    module's only function returned alone, without its imports, is a partial reply: taken whole, it
    would lose the imports its decorator and body need.)
    """
    try:
        orig_tree = ast.parse(original)
    except SyntaxError:
        return block, ["the original does not parse; replaced whole"]
    block_tree = ast.parse(block)
    orig_named = _named(orig_tree.body)
    block_named = _named(block_tree.body)
    missing = sorted(set(orig_named) - set(block_named))
    dropped = _imports(orig_tree.body) - _imports(block_tree.body)
    if not orig_named or not (missing or dropped):
        return block, []

    notes = [f"partial reply (omits {', '.join(missing) or 'imports'}); spliced by name"]
    block_lines = block.splitlines(keepends=True)
    result = original
    for node in block_tree.body:
        if isinstance(node, _DEF_TYPES):
            existed = _find(ast.parse(result).body, [node.name]) is not None
            result = splice_function(result, _segment(block_lines, node), node.name)
            notes.append(f"{'replaced' if existed else 'added'} {node.name}")
            continue
        name = _assigned_name(node)
        if name is not None:
            tree = ast.parse(result)
            current = _named(tree.body).get(name)
            text = _ensure_newline(_segment(block_lines, node))
            if current is not None and not isinstance(current, _DEF_TYPES):
                start, end = _span(current)
                lines = result.splitlines(keepends=True)
                lines[start - 1 : end] = [text]
                result = "".join(lines)
                notes.append(f"replaced {name}")
            elif current is None:
                first_def = next((n for n in tree.body if isinstance(n, _DEF_TYPES)), None)
                where = (_span(first_def)[0] - 1) if first_def else len(result.splitlines())
                result = _insert_lines(result, where, text + ("\n" if first_def else ""))
                notes.append(f"added {name}")
        elif not isinstance(node, ast.Import | ast.ImportFrom):
            notes.append(f"ignored a top-level {type(node).__name__} statement of the partial reply")

    for node in block_tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            tree = ast.parse(result)
            have: set[tuple[str, str, str | None]] = set()
            for existing in tree.body:
                if isinstance(existing, ast.Import | ast.ImportFrom):
                    have |= _import_keys(existing)
            if _import_keys(node) <= have:
                continue
            future = isinstance(node, ast.ImportFrom) and node.module == "__future__"
            result = _insert_lines(result, _import_anchor(tree, future), _segment(block_lines, node))
            notes.append(f"added import: {ast.unparse(node)}")
    return result, notes


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
