"""Structured failure context: what the LLM, the memory and the email see of a failed job.

:func:`extract` turns a final BullMQ failure into a :class:`FailureContext`: the exception type and
message, a normalised :func:`error_signature` (the de-duplication key of the memory), the parsed
traceback, the frames inside the application (``APP_ROOT_DIR``), focused snippets and capped
sources. Everything in it is already redacted.

Ordering: ``frames`` and ``locations`` keep traceback order, outermost first, as Python prints
them. The *failing line* is the innermost application frame, ``locations[-1]``
(:func:`failing_location`). ``snippets`` and ``sources`` go the other way, innermost first, because
the model reads little and slowly (MEASURED.md: 65 tokens/s of prompt) and the line that raised
matters most; its callers follow only if they fit.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from smartworker.redaction import redact, redact_text


@dataclass(frozen=True)
class Frame:
    """One traceback frame."""

    file: str  #: path as printed in the traceback
    line: int
    function: str
    code: str  #: the source line, stripped ("" when the traceback had none)


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


# -- signature ---------------------------------------------------------------------------------------

# Applied in order. Specific shapes go first so that a timestamp is not eaten as three numbers
# and an id is not eaten as a number.
_UUID = re.compile(r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b")
_TIMESTAMPS = re.compile(
    "|".join(
        (
            # ISO 8601 date with optional time, fraction and zone: 2026-11-23T09:01:00.123+01:00
            r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}:?\d{2}|\b))?",
            # bare times: 09:01:00.123
            r"\b\d{2}:\d{2}:\d{2}(?:[.,]\d+)?\b",
            # RFC 2822 / HTTP dates: Mon, 23 Nov 2026 (time is caught above)
            r"\b(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun),? \d{1,2} [A-Z][a-z]{2} \d{4}\b",
            # Apache log dates: 23/Nov/2026:09:01:00
            r"\b\d{1,2}/[A-Z][a-z]{2}/\d{4}(?::\d{2}:\d{2}:\d{2})?\b",
        )
    )
)
_HEXES = re.compile(r"\b0[xX][0-9a-fA-F]+\b|\b(?=[0-9a-fA-F]*\d)(?=[0-9a-fA-F]*[a-fA-F])[0-9a-fA-F]{8,}\b")
# "job 1234", "job #12", "job_id=abc123", "id: 77", "jobId='repeat:x:17'", "order-id 9": the value
# must hold a digit, so "job failed" stays prose.
_IDS = re.compile(
    r"\b((?:[A-Za-z]+[ _-]|[a-z]+(?=Id))?(?:id|Id|ID|ids|IDs)|[Jj]ob|JOB|[Tt]ask)"
    r"((?:[ \t]*[#:=][ \t]*|[ \t]+#?)[\"']?)"
    r"(?=[\w:.-]*\d)[\w:.-]*\w"
)
_BULL_KEYS = re.compile(r"\b(bull:[\w.-]+:)[\w:.-]*\d[\w:.-]*")
# Epoch seconds (2001-2033) and milliseconds, with an optional fraction.
_EPOCH = re.compile(r"(?<![\w.])1\d{9}(?:\d{3})?(?:\.\d+)?(?![\w.])")
# Numbers that are not part of a name: "user42" stays (an identifier), "42", "-1.5e3", "1,000" go.
_NUMBERS = re.compile(r"(?<![\w.<])[-+]?\d+(?:[.,_]\d+)*(?:[eE][-+]?\d+)?(?!\w)")
# "1 argument was given" / "2 arguments were given": plural and verb agree with the number.
_PLURAL_AFTER_N = re.compile(r"(<N>\s+(?:[a-z]+\s+)?)([a-z]{2,}?[^s\W])s\b")
_WERE_AFTER_N = re.compile(r"(<N>\s+(?:[a-z]+\s+)?)were\b")
_QUOTED = re.compile(r"(?<![\w\\])(['\"])((?:(?!\1).){41,}?)\1(?!\w)")
_SPACES = re.compile(r"\s+")

#: Longest quoted value kept whole in a signature.
QUOTED_MAX = 40
#: Longest signature; the rest becomes "…".
SIGNATURE_MAX = 500


def _truncate_quoted(m: re.Match[str]) -> str:
    quote, inner = m[1], m[2]
    return f"{quote}{inner[:QUOTED_MAX]}…{quote}"


def _normalise_once(message: str) -> str:
    text = redact_text(message)
    text = _UUID.sub("<UUID>", text)
    text = _TIMESTAMPS.sub("<TIMESTAMP>", text)
    text = _BULL_KEYS.sub(r"\1<ID>", text)
    text = _IDS.sub(r"\1\2<ID>", text)
    text = _HEXES.sub("<HEX>", text)
    text = _EPOCH.sub("<TIMESTAMP>", text)
    text = _NUMBERS.sub("<N>", text)
    text = _PLURAL_AFTER_N.sub(r"\1\2", text)
    text = _WERE_AFTER_N.sub(r"\1was", text)
    text = _SPACES.sub(" ", text).strip()
    text = _QUOTED.sub(_truncate_quoted, text)
    if len(text) > SIGNATURE_MAX:
        text = text[:SIGNATURE_MAX] + "…"
    return text


def normalise_message(message: str) -> str:
    """Normalise an exception message: variable parts become placeholders, secrets are masked.

    Idempotent. Placeholders: ``<UUID>``, ``<TIMESTAMP>``, ``<ID>``, ``<HEX>``, ``<N>``.
    """
    # Each step only replaces text with placeholders; repeating until stable makes the result
    # idempotent even where one replacement exposes another match (e.g. a number next to "id").
    for _ in range(6):
        new = _normalise_once(message)
        if new == message:
            break
        message = new
    return message


def error_signature(exception_type: str, message: str) -> str:
    """The normalised ``"Type: message"`` that two failures of the same bug share."""
    exception_type = exception_type.strip() or "Error"
    normalised = normalise_message(message)
    return f"{exception_type}: {normalised}" if normalised else exception_type


# -- traceback ---------------------------------------------------------------------------------------

_TB_HEADER = re.compile(r"^\s*(?:\|\s*)?Traceback \(most recent call last\):\s*$")
_FRAME = re.compile(r'^\s*(?:\|\s*)?File "(?P<file>.*)", line (?P<line>\d+)(?:, in (?P<function>.+?))?\s*$')
_CARETS = re.compile(r"^\s*(?:\|\s*)?[\^~\-]+[\s\^~\-]*$")
_REPEATED = re.compile(r"^\s*(?:\|\s*)?\[Previous line repeated \d+ more times?\]\s*$")
_CHAIN_SEPARATORS = (
    "During handling of the above exception, another exception occurred:",
    "The above exception was the direct cause of the following exception:",
)
_EXCEPTION_LINE = re.compile(r"^(?P<type>[A-Za-z_][\w.]*)(?::[ \t]?(?P<message>.*))?$")
# A tail line like "KeyError" is an exception line only if it reads like a class name, so that a
# stray word in a log is not taken for one.
_BARE_EXCEPTION = re.compile(r"^(?:[A-Za-z_]\w*\.)*[A-Z]\w*$")


def split_chain(text: str) -> list[str]:
    """Split a chained traceback into one section per exception, in printed order (cause first)."""
    sections: list[list[str]] = [[]]
    for line in text.splitlines():
        if line.strip() in _CHAIN_SEPARATORS:
            sections.append([])
        else:
            sections[-1].append(line)
    return ["\n".join(s).strip("\n") for s in sections if any(x.strip() for x in s)]


def _parse_section(text: str) -> tuple[list[Frame], list[str]]:
    """Frames of one section and the lines after its last frame (the exception lines)."""
    frames: list[Frame] = []
    tail: list[str] = []
    pending: dict[str, Any] | None = None
    for line in text.splitlines():
        m = _FRAME.match(line)
        if m:
            if pending is not None:
                frames.append(Frame(**pending))
            pending = {"file": m["file"], "line": int(m["line"]), "function": m["function"] or "", "code": ""}
            tail = []
            continue
        if _TB_HEADER.match(line):
            tail = []
            continue
        if not tail and (_CARETS.match(line) or _REPEATED.match(line)):
            continue  # 3.11+ position markers and recursion notes belong to the frame above
        if pending is not None and line.startswith((" ", "\t")) and not tail:
            # The first indented line after a frame is its code; CPython 3.13 may print more
            # lines of a multi-line statement, which add nothing the first one does not.
            if not pending["code"] and line.strip():
                pending["code"] = line.strip()
            continue
        tail.append(line)
    if pending is not None:
        frames.append(Frame(**pending))
    return frames, tail


def parse_traceback(text: str) -> list[Frame]:
    """Every frame of a CPython traceback, chained exceptions included, in printed order."""
    return [f for section in split_chain(text) for f in _parse_section(section)[0]]


def last_exception_frames(text: str) -> list[Frame]:
    """Frames of the last exception of a chain: the one that ended the job."""
    sections = split_chain(text)
    return _parse_section(sections[-1])[0] if sections else []


def _exception_from_tail(tail: list[str]) -> tuple[str, str] | None:
    lines = list(tail)
    while lines and not lines[0].strip():
        lines.pop(0)
    if not lines:
        return None
    m = _EXCEPTION_LINE.match(lines[0].strip())
    if not m or (m["message"] is None and not _BARE_EXCEPTION.match(m["type"])):
        return None
    rest = "\n".join(ln.rstrip() for ln in lines[1:]).strip("\n")
    message = m["message"] or ""
    if rest:
        message = f"{message}\n{rest}" if message else rest
    return m["type"], message.strip()


def split_failure(failed_reason: str, traceback_text: str) -> tuple[str, str]:
    """(exception type, message) of the final exception, from the traceback or ``failed_reason``.

    The type keeps its qualification (``json.decoder.JSONDecodeError``); a message may span lines.
    Without a usable traceback, ``failed_reason`` is read as ``"Type: message"`` when it looks like
    one, else the type is ``"Error"`` (bullmq stores only ``str(exc)``, e.g. ``"'password'"``).
    """
    sections = split_chain(traceback_text or "")
    if sections:
        found = _exception_from_tail(_parse_section(sections[-1])[1])
        if found:
            return found
    reason = (failed_reason or "").strip()
    m = _EXCEPTION_LINE.match(reason.splitlines()[0]) if reason else None
    if m and m["message"] is not None and _BARE_EXCEPTION.match(m["type"]):
        _, _, rest = reason.partition("\n")
        message = (m["message"] + ("\n" + rest if rest else "")).strip()
        return m["type"], message
    return "Error", reason


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


def last_traceback(stacktrace: list[str] | str) -> str:
    """The traceback of the last attempt: bullmq keeps one per attempt, oldest first.

    Accepts the list, or the JSON string Redis stores (``'["...", "..."]'``), or one traceback.
    """
    if isinstance(stacktrace, str):
        stripped = stacktrace.strip()
        if stripped.startswith("["):
            try:
                decoded = json.loads(stripped)
            except ValueError:
                return stacktrace
            if isinstance(decoded, list):
                return last_traceback([str(x) for x in decoded])
        return stacktrace
    for item in reversed(stacktrace):
        if item and item.strip():
            return item
    return ""


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
