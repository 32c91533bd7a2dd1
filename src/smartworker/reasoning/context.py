"""Structured failure context: what the LLM, the memory and the email see of a failed job.

:func:`extract` turns a final BullMQ failure into a :class:`FailureContext`: the exception type and
message, a normalised :func:`error_signature` (the de-duplication key of the memory), the parsed
traceback (:mod:`smartworker.reasoning.tracebacks`, the package's one parser), the frames inside
the application (``APP_ROOT_DIR``), focused snippets and capped
sources. Everything in it is already redacted.

Ordering: ``frames`` and ``locations`` keep traceback order, outermost first, as Python prints
them. The *failing line* is the innermost application frame, ``locations[-1]``
(:func:`failing_location`). ``snippets`` and ``sources`` go the other way, innermost first, because
the model reads little and slowly (MEASURED.md: 65 tokens/s of prompt) and the line that raised
matters most; its callers follow only if they fit.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from smartworker.reasoning.signature import error_signature, normalise_message
from smartworker.reasoning.tracebacks import (
    Frame,
    last_exception_frames,
    last_traceback,
    parse_traceback,
    split_chain,
    split_failure,
)
from smartworker.redaction import redact, redact_text

#: Re-exported: callers read the context's parts from here (signature.py, tracebacks.py hold them).
__all__ = ["FailureContext", "Frame", "Location", "error_signature", "extract", "failing_location",
           "failure_locations", "focused_snippet", "last_exception_frames", "last_traceback", "most_relevant",
           "normalise_message", "parse_traceback", "read_sources", "split_chain", "split_failure"]


@dataclass(frozen=True)
class Location:
    """A frame inside APP_ROOT_DIR."""

    path: str  #: relative to APP_ROOT_DIR, posix separators
    line: int
    function: str
    code: str


@dataclass(frozen=True)
class FailureContext:
    """Everything known about one final failure, already redacted."""

    queue: str
    job_id: str
    job_name: str
    attempts: int
    data: dict[str, Any]  #: redacted
    opts: dict[str, Any]  #: redacted
    exception_type: str  #: e.g. "KeyError"
    message: str  #: raw (redacted) exception message
    signature: str  #: normalised "Type: message" with <ID>, <UUID>, <HEX>, <TIMESTAMP>, <N>
    traceback: str  #: full raw traceback of the last attempt (redacted)
    frames: list[Frame] = field(default_factory=list)  #: every frame, outermost first
    locations: list[Location] = field(default_factory=list)  #: frames under the app root, deduplicated
    #: ±12 lines around the 3 most relevant locations (innermost first), '>>>' marks the line
    snippets: list[str] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)  #: relative path -> full source (capped)

    @property
    def signature_hash(self) -> str:
        """Short stable hash of job name + signature (de-duplication key)."""
        import hashlib

        return hashlib.sha256(f"{self.job_name}\0{self.signature}".encode()).hexdigest()[:16]

    @property
    def failing_location(self) -> Location | None:
        """The innermost application frame: the line that raised, or None outside the app."""
        return failing_location(self.locations)

    @property
    def failing_code(self) -> str:
        """The source text of the line that raised; "" when it was outside the app."""
        location = self.failing_location
        return location.code if location is not None else ""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict (to pass the context through Redis queues)."""
        return asdict(self)

    def to_json(self) -> str:
        """The context as one JSON string."""
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> FailureContext:
        """Rebuild a context from :meth:`to_dict` output; unknown keys are ignored."""
        return cls(
            queue=str(raw["queue"]),
            job_id=str(raw["job_id"]),
            job_name=str(raw["job_name"]),
            attempts=int(raw["attempts"]),
            data=dict(raw.get("data") or {}),
            opts=dict(raw.get("opts") or {}),
            exception_type=str(raw["exception_type"]),
            message=str(raw.get("message", "")),
            signature=str(raw["signature"]),
            traceback=str(raw.get("traceback", "")),
            frames=[
                Frame(str(f["file"]), int(f["line"]), str(f["function"]), str(f["code"]))
                for f in raw.get("frames") or []
            ],
            locations=[
                Location(str(loc["path"]), int(loc["line"]), str(loc["function"]), str(loc["code"]))
                for loc in raw.get("locations") or []
            ],
            snippets=[str(s) for s in raw.get("snippets") or []],
            sources={str(k): str(v) for k, v in (raw.get("sources") or {}).items()},
        )

    @classmethod
    def from_json(cls, text: str) -> FailureContext:
        """Rebuild a context from :meth:`to_json` output."""
        raw = json.loads(text)
        if not isinstance(raw, dict):
            raise ValueError("a failure context is a JSON object")
        return cls.from_dict(raw)


# -- locations ---------------------------------------------------------------------------------------


def _inside(root: Path, path: Path) -> Path | None:
    """``path`` relative to ``root`` when it resolves inside it (symlinks followed), else None."""
    try:
        resolved = (root / path).resolve() if not path.is_absolute() else path.resolve()
        return resolved.relative_to(root.resolve())
    except (OSError, ValueError, RuntimeError):
        return None


def failure_locations(frames: list[Frame], app_root: Path) -> list[Location]:
    """Frames whose file lies inside ``app_root``, as relative posix paths, outermost first.

    Library and stdlib frames, ``<string>`` and ``<frozen ...>`` are left out. Duplicates (recursion)
    keep their innermost occurrence, so ``locations[-1]`` is always the failing line.
    """
    seen: set[tuple[str, int, str]] = set()
    kept: list[Location] = []
    for frame in reversed(frames):
        if not frame.file or frame.file.startswith("<"):
            continue
        rel = _inside(app_root, Path(frame.file))
        if rel is None or not rel.parts:
            continue
        key = (rel.as_posix(), frame.line, frame.function)
        if key in seen:
            continue
        seen.add(key)
        kept.append(Location(key[0], frame.line, frame.function, frame.code))
    kept.reverse()
    return kept


def failing_location(locations: list[Location]) -> Location | None:
    """The innermost application frame (the line that raised), or None."""
    return locations[-1] if locations else None


def _read_inside(app_root: Path, rel_path: str) -> str | None:
    """Text of a file inside ``app_root``; None when outside, missing or unreadable."""
    rel = _inside(app_root, Path(rel_path))
    if rel is None or Path(rel_path).is_absolute():
        return None
    try:
        return (app_root.resolve() / rel).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def focused_snippet(app_root: Path, location: Location, radius: int = 12) -> str:
    """``radius`` lines either side of a location, numbered, the failing line marked ``>>>``.

    The first line names the place (``path, line N, in function``). Empty when the file cannot be
    read inside ``app_root``.
    """
    source = _read_inside(app_root, location.path)
    if source is None:
        return ""
    lines = source.splitlines()
    if not lines:
        return ""
    start = max(1, location.line - radius)
    end = min(len(lines), location.line + radius)
    if start > end:
        return ""
    width = len(str(end))
    out = [f"{location.path}, line {location.line}, in {location.function}"]
    for number in range(start, end + 1):
        marker = ">>>" if number == location.line else "   "
        out.append(f"{marker} {number:>{width}} | {lines[number - 1]}".rstrip())
    return "\n".join(out)


def most_relevant(locations: list[Location], limit: int = 3) -> list[Location]:
    """The ``limit`` locations a model should see first: innermost (the failing line) first."""
    return list(reversed(locations))[:limit]


#: Per-file cap of :func:`read_sources`: about 8k tokens, a model's whole budget.
SOURCE_CAP_BYTES = 32 * 1024
_TRUNCATED = "\n# [truncated by SmartWorker: {n} more bytes]\n"


def read_sources(app_root: Path, locations: list[Location], cap_bytes: int = SOURCE_CAP_BYTES) -> dict[str, str]:
    """Full source of each file in ``locations`` (innermost first), each capped at ``cap_bytes``.

    A capped file is cut at a line boundary and ends with a ``# [truncated ...]`` marker, so it
    can never be mistaken for the whole file. Files outside ``app_root`` are not read.
    """
    sources: dict[str, str] = {}
    for location in most_relevant(locations, limit=len(locations)):
        if location.path in sources:
            continue
        text = _read_inside(app_root, location.path)
        if text is None:
            continue
        data = text.encode("utf-8")
        if len(data) > cap_bytes:
            head = data[:cap_bytes].decode("utf-8", errors="ignore")
            if "\n" in head:
                head = head[: head.rindex("\n") + 1]
            text = head + _TRUNCATED.format(n=len(data) - len(head.encode("utf-8")))
        sources[location.path] = text
    return sources


# -- extract -----------------------------------------------------------------------------------------


def extract(
    *,
    queue: str,
    job_id: str,
    job_name: str,
    attempts: int,
    data: Any,
    opts: Any,
    failed_reason: str,
    stacktrace: list[str] | str,
    app_root: Path,
) -> FailureContext:
    """Build the redacted :class:`FailureContext` of a job's final failure."""
    raw_tb = last_traceback(stacktrace)
    exception_type, message = split_failure(failed_reason, raw_tb)
    frames = parse_traceback(raw_tb)
    # Locations come from the exception that ended the job; when its section never entered the
    # application (re-raised from library code), fall back to the whole chain.
    locations = failure_locations(last_exception_frames(raw_tb), app_root)
    locations = locations or failure_locations(frames, app_root)
    snippets = [s for s in (focused_snippet(app_root, loc) for loc in most_relevant(locations)) if s]
    sources = read_sources(app_root, locations)
    redacted_data = redact(data)
    redacted_opts = redact(opts)
    return FailureContext(
        queue=queue,
        job_id=str(job_id),
        job_name=job_name,
        attempts=int(attempts),
        data=redacted_data if isinstance(redacted_data, dict) else {"value": redacted_data},
        opts=redacted_opts if isinstance(redacted_opts, dict) else {"value": redacted_opts},
        exception_type=exception_type,
        message=redact_text(message),
        signature=error_signature(exception_type, message),
        traceback=redact_text(raw_tb),
        frames=[Frame(f.file, f.line, f.function, redact_text(f.code)) for f in frames],
        locations=[Location(loc.path, loc.line, loc.function, redact_text(loc.code)) for loc in locations],
        snippets=[redact_text(s) for s in snippets],
        sources={path: redact_text(text) for path, text in sources.items()},
    )
