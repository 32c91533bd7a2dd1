"""The one traceback parser of the package: frames, chained sections, the exception line, and the
last attempt's traceback as BullMQ stores it. Frames keep traceback order, outermost first.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Frame:
    """One traceback frame."""

    file: str  #: path as printed in the traceback
    line: int
    function: str
    code: str  #: the source line, stripped ("" when the traceback had none)


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
