"""The shape of a job's result, and whether a new result keeps the shape earlier jobs had.

A fix can make the failed job complete with a result no earlier job would ever have returned: an
amount "0" where every other invoice says "6.00", an ``{"error": ...}`` dict where every other job
returned the documented keys. The regression replay cannot see that (it checks the earlier jobs, not
the new one), so the verdict compares the failed job's new result with the results the original
code gave the earlier inputs. Only what those results all agree on is required, and only where the
agreement says something about the contract rather than the data:

- the top-level keys of a dict result; a nested dict's keys only where every earlier result has
  exactly the same ones (a record, such as a 1-5 histogram; a dict keyed by data, such as
  currencies, differs from job to job);
- the kind of each value: string, number (int and float are one kind), bool, object, list;
- the layout of a short string that holds digits (money, dates, ids): letter runs read as ``a``
  and numbers as ``9`` (a leading sign and thousands separators dropped), so "6.00" and "-1,250.00"
  are ``9.9`` and "0" is ``9``; free text without digits is not read.

A null leaf in the new result is accepted (an optional answer that is absent for this job), and a
path under a list may be missing (the list may be empty for this job).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from typing import Any

from smartworker.redaction import redacted_json

_LETTERS = re.compile(r"[^\W\d_]+")
#: A number, thousands separators included: "1,250.00" reads like "120.00", as ``9.9``.
_DIGITS = re.compile(r"\d(?:[\d,_' ]*\d)?")
#: A leading sign: a refund of "-5.00" is still money like "6.00".
_SIGN = re.compile(r"^[-+](?=\d)")
#: Longer strings are prose or payloads, whose layout is not a contract.
MAX_LAYOUT_CHARS = 40
#: Values quoted in a reason are cut to this many characters.
QUOTE_CHARS = 60
#: At least this many earlier results must agree before their shape is required.
MIN_REFERENCES = 2

#: A path is the keys from the top, with ITEM standing for "any element of a list" and JSON for
#: "this string, parsed as JSON" (only where a walk reads inside JSON strings).
Path = tuple[object, ...]
ITEM = object()
JSON = object()


def leaf_kind(value: Any) -> str | None:
    """A leaf's kind (with a string's layout where it holds digits); None for null."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        if len(value) <= MAX_LAYOUT_CHARS and "\n" not in value and any(c.isdigit() for c in value):
            return "string " + _DIGITS.sub("9", _LETTERS.sub("a", _SIGN.sub("", value)))
        return "string"
    return type(value).__name__


def leaves(value: Any, path: Path = (), *, inside_json: bool = False) -> Iterator[tuple[Path, str | None, Any]]:
    """(path, kind, value) for every leaf; containers are leaves too, so a dict that became a list
    shows. With ``inside_json``, a string holding a JSON object or array is also walked inside."""
    if isinstance(value, dict):
        yield path, "object", value
        for key, item in value.items():
            yield from leaves(item, (*path, key), inside_json=inside_json)
    elif isinstance(value, list):
        yield path, "list", value
        for item in value:
            yield from leaves(item, (*path, ITEM), inside_json=inside_json)
    else:
        yield path, leaf_kind(value), value
        parsed = _parsed_json(value) if inside_json and isinstance(value, str) else None
        if parsed is not None:
            yield from leaves(parsed, (*path, JSON), inside_json=True)


def _parsed_json(text: str) -> Any:
    """A string holding a JSON object or array, parsed; None otherwise."""
    if not text.lstrip().startswith(("{", "[")):
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict | list) else None


def _single_kinds(value: Any) -> dict[Path, tuple[str | None, Any]]:
    """path -> (kind, an example value) for the paths whose leaves all have one kind."""
    kinds: dict[Path, set[str | None]] = {}
    examples: dict[Path, Any] = {}
    for path, kind, leaf in leaves(value):
        kinds.setdefault(path, set()).add(kind)
        examples.setdefault(path, leaf)
    return {path: (next(iter(k)), examples[path]) for path, k in kinds.items() if len(k) == 1}


def _where(path: Path) -> str:
    if not path:
        return "the result"
    name = "".join("[]" if key is ITEM else f".{key}" for key in path).lstrip(".")
    return f"`{name}` in the result"


def mismatch(result: Any, references: Sequence[Any]) -> str | None:
    """Why ``result`` does not have the shape all of ``references`` share, or None when it does (or
    when fewer than :data:`MIN_REFERENCES` results are there to agree). One line, values redacted."""
    if len(references) < MIN_REFERENCES:
        return None
    missing = _missing_key(result, references)
    if missing:
        return missing
    shared = _single_kinds(references[0])
    for reference in references[1:]:
        theirs = _single_kinds(reference)
        shared = {p: ke for p, ke in shared.items() if p in theirs and theirs[p][0] == ke[0]}
    for path, kind, leaf in leaves(result):
        if path not in shared or kind is None:
            continue
        want, example = shared[path]
        if want is None or kind == want or _prose(kind, want):
            continue
        if isinstance(leaf, dict | list) or isinstance(example, dict | list):
            return f"{_where(path)} is {kind_name(kind)}, where every earlier job's is {kind_name(want)}"
        got, seen = redacted_json(leaf, QUOTE_CHARS), redacted_json(example, QUOTE_CHARS)
        return f"{_where(path)} is {got}, unlike every earlier job's (e.g. {seen})"
    return None


def _missing_key(result: Any, references: Sequence[Any]) -> str | None:
    """A key every earlier result has and this one lacks: at the top level, any key all of them share;
    in a nested dict, only when all of them have exactly the same keys there (a fixed record, not a
    dict keyed by data such as currencies)."""
    if isinstance(result, dict) and all(isinstance(r, dict) for r in references):
        shared = set(references[0]).intersection(*references[1:])
        missing = sorted(str(k) for k in shared if k not in result)
        if missing:
            return f"the result has no `{missing[0]}` key, which every earlier job's result has"
    for path, _kind, mine in leaves(result):
        if not path or ITEM in path or not isinstance(mine, dict):
            continue
        theirs = [_at(r, path) for r in references]
        if not all(isinstance(t, dict) for t in theirs):
            continue
        keys = set(theirs[0])
        if keys and all(set(t) == keys for t in theirs) and not keys <= set(mine):
            lacking = sorted(str(k) for k in keys - set(mine))
            return (f"{_where(path)} has no `{lacking[0]}` key, which every earlier job's result has "
                    f"(they all have {', '.join(sorted(str(k) for k in keys))})")
    return None


def _at(value: Any, path: Path) -> Any:
    """The value at a path of dict keys, or None."""
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


def _prose(kind: str, want: str) -> bool:
    # A long or multi-line string has no layout: its kind says only "string", which any layout matches.
    return "string" in (kind, want) and kind.startswith("string") and want.startswith("string")


def kind_name(kind: str) -> str:
    return {"object": "an object", "list": "a list"}.get(kind, "a " + kind.split(" ")[0])
