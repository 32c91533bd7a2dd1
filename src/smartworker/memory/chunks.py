"""What of a failure gets embedded: short texts in four categories, each compared only with its own kind.

* ``error_signature``: the normalised "Type: message";
* ``failure_location``: "path:function: code line" for up to three frames in the app, innermost first;
* ``code_context``: a few lines around the failing line of each focused snippet;
* ``metadata``: the job name and the SHAPE of its data (keys and value types, never values).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from smartworker.reasoning.context import FailureContext

#: Categories in the order the search reports them.
CATEGORIES: tuple[str, ...] = ("error_signature", "failure_location", "code_context", "metadata")

MAX_LOCATIONS = 3
#: Code windows embedded: the failing function's and its caller's. A third (the outer frame, most
#: often the handler's entry) added about a fifth of a new failure's word pieces; its location
#: chunk stays, and recall on tests/integration/test_memory_quality.py did not change.
MAX_SNIPPETS = 2
#: Lines kept each side of the ">>>" line: the model reads 256 tokens, a whole ±12 snippet is more.
FOCUS_RADIUS = 4
MAX_CHUNK_CHARS = 1200


@dataclass(frozen=True)
class Chunk:
    """One text to embed, with its category."""

    category: str
    content: str


def _clip(text: str) -> str:
    return text if len(text) <= MAX_CHUNK_CHARS else text[:MAX_CHUNK_CHARS]


def type_name(value: Any) -> str:
    """A JSON-ish type name for a value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "str"
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, list | tuple):
        return "list"
    return type(value).__name__


def data_shape(value: Any, depth: int = 0, max_depth: int = 3, max_keys: int = 30) -> str:
    """Keys and value types of ``value``, e.g. ``{items: list, user: {email: str, id: int}}``.

    Values never appear, so the shape can be embedded and shown without leaking data.
    """
    if isinstance(value, Mapping):
        if depth >= max_depth:
            return "object"
        parts = [
            f"{key}: {data_shape(value[key], depth + 1, max_depth, max_keys)}"
            for key in sorted(value, key=str)[:max_keys]
        ]
        return "{" + ", ".join(parts) + "}"
    if isinstance(value, list | tuple):
        # Only "list": what a list holds (and whether it is empty) varies between two runs of the
        # same job, and would pull occurrences of one bug apart.
        return "list"
    return type_name(value)


def focus_snippet(snippet: str, radius: int = FOCUS_RADIUS) -> str:
    """The line marked ``>>>`` first, then the lines within ``radius`` of it, without line numbers.

    The failing line leads so that two failures in one function at different lines embed apart.
    A snippet without a marker keeps its middle lines.
    """
    lines = snippet.splitlines()
    if not lines:
        return ""
    marked = next((i for i, line in enumerate(lines) if line.lstrip().startswith(">>>")), len(lines) // 2)
    window = lines[max(0, marked - radius) : marked + radius + 1]
    cleaned = []
    for line in window:
        stripped = line.lstrip()
        if stripped.startswith(">>>"):
            stripped = stripped[3:]
        # "  42 | code" / "42: code": drop the number so the same code at another line matches.
        stripped = re.sub(r"^\s*\d+\s*[|:]\s?", "", stripped)
        if stripped.strip():
            cleaned.append(stripped.rstrip())
    failing = re.sub(r"^\s*\d+\s*[|:]\s?", "", lines[marked].lstrip().removeprefix(">>>")).strip()
    return "\n".join([failing, "--", *cleaned]) if failing else "\n".join(cleaned)


def location_text(path: str, function: str, code: str) -> str:
    """The text of one failure_location chunk."""
    return f"{path}:{function}: {code.strip()}"


def metadata_text(job_name: str, data: Mapping[str, Any] | None) -> str:
    """The text of the metadata chunk."""
    if data is None:
        return f"job {job_name}"
    return f"job {job_name} data {data_shape(data)}"


def build_chunks(ctx: FailureContext) -> list[Chunk]:
    """Every chunk remembered (and searched with) for a failure context."""
    chunks: list[Chunk] = []
    signature = ctx.signature or f"{ctx.exception_type}: {ctx.message}"
    chunks.append(Chunk("error_signature", _clip(signature)))
    # Locations come outermost first; the innermost frames are where the bug shows.
    seen: set[str] = set()
    for loc in reversed(ctx.locations):
        text = location_text(loc.path, loc.function, loc.code)
        if text not in seen:
            seen.add(text)
            chunks.append(Chunk("failure_location", _clip(text)))
        if len(seen) >= MAX_LOCATIONS:
            break
    for snippet in ctx.snippets[:MAX_SNIPPETS]:
        focused = focus_snippet(snippet)
        if focused:
            chunks.append(Chunk("code_context", _clip(focused)))
    chunks.append(Chunk("metadata", _clip(metadata_text(ctx.job_name, ctx.data))))
    return chunks


_FRAME = re.compile(r'^\s*File "(?P<file>[^"]+)", line (?P<line>\d+), in (?P<func>\S+)\s*$')


def traceback_locations(traceback: str) -> list[tuple[str, str, str]]:
    """(path, function, code) of each frame of a printed Python traceback, outermost first."""
    found: list[tuple[str, str, str]] = []
    lines = traceback.splitlines()
    for i, line in enumerate(lines):
        match = _FRAME.match(line)
        if not match:
            continue
        code = ""
        if i + 1 < len(lines) and not _FRAME.match(lines[i + 1]):
            candidate = lines[i + 1].strip()
            # Skip caret lines and the final "Type: message" line.
            carets = set(candidate) <= set("^~ ")
            if candidate and not carets and not re.match(r"^\w+(Error|Exception)\b", candidate):
                code = candidate
        found.append((match.group("file"), match.group("func"), code))
    return found


def text_chunks(error: str, traceback: str | None = None, job_name: str | None = None) -> list[Chunk]:
    """Chunks for a free-text query (``POST /memory/search``): an error line, maybe a traceback and job."""
    chunks = [Chunk("error_signature", _clip(error.strip()))]
    if traceback:
        frames = traceback_locations(traceback)
        # Library frames outside the app look like "/usr/lib/..." or ".../site-packages/...".
        app = [f for f in frames if "site-packages" not in f[0] and not f[0].startswith(("/usr/", "<"))]
        seen: list[str] = []
        for path, func, code in reversed(app or frames):
            text = location_text(path, func, code)
            if text not in seen:
                seen.append(text)
            if len(seen) >= MAX_LOCATIONS:
                break
        chunks.extend(Chunk("failure_location", _clip(t)) for t in seen)
    if job_name:
        chunks.append(Chunk("metadata", metadata_text(job_name, None)))
    return chunks


def group_by_category(chunks: Sequence[Chunk]) -> dict[str, list[int]]:
    """Indexes of ``chunks`` per category (every category present, maybe empty)."""
    groups: dict[str, list[int]] = {c: [] for c in CATEGORIES}
    for i, chunk in enumerate(chunks):
        groups[chunk.category].append(i)
    return groups
