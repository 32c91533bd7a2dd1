"""The error signature: a failure's type and message with the parts that change from job to job
(ids, numbers, timestamps, long quoted values) normalised, so that one bug gives one signature.
It is the de-duplication key of the memory and of in-flight resolutions.
"""

from __future__ import annotations

import re

from smartworker.redaction import redact_text

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
