"""Reading the files out of a model's reply, in whatever shape it arrives.

The model answers with blocks that start with ``# File: <path relative to APP_ROOT_DIR>``.
:func:`parse_reply` finds them fenced, unfenced, JSON-escaped or wrapped in prose. What the blocks
may change is :mod:`smartworker.reasoning.edits`'s question.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from smartworker.reasoning import syntax


@dataclass(frozen=True)
class FileBlock:
    """One file as the model wrote it: a path relative to APP_ROOT_DIR and the full text."""

    path: str
    content: str


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
        syntax.parse(text)
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
