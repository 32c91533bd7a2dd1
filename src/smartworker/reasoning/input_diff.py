"""How the failed job's data differs from the data of the handler's recent successful jobs.

A job that fails after many that did not usually brings something they never had: a key renamed
or gone, a JSON object sent as a string, an empty list, a zero divisor, a timestamp without its
offset. The failing data alone does not say which of its parts is unusual; set beside earlier
successful inputs, it does. Each difference becomes one line of the fix prompt, naming the value as
Python code reads it (``data["order"]["ship_to"]["line2"]``), so the model can match it to the code.

Only facts about structure are stated: a key missing or new, a value of another kind, an empty
container, a zero, a string laid out differently. Values appear only as redacted examples of a
layout; a key that names a secret never shows one.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from smartworker.redaction import is_secret_key, redacted_json
from smartworker.sandbox.shape import ITEM, JSON, Path, kind_name, leaves

#: Fewer earlier jobs than this say too little about what is usual.
MIN_EARLIER = 2
#: A small model reads a short list; the first differences found are the most specific ones.
MAX_LINES = 6
#: Characters of an example value quoted beside a layout difference.
QUOTE_CHARS = 40


@dataclass
class _Seen:
    """What one job's data holds at one path (over every list element that reaches it)."""

    kinds: set[str] = field(default_factory=set)
    layouts: dict[str, Any] = field(default_factory=dict)  #: layout -> an example value
    empty: bool = False
    zero: bool = False


def _observe(data: Any) -> dict[Path, _Seen]:
    seen: dict[Path, _Seen] = {}
    for path, kind, value in leaves(data, inside_json=True):
        here = seen.setdefault(path, _Seen())
        # One kind per value; a string's layout is kept apart, for the layout rule below.
        here.kinds.add(kind.split(" ")[0] if kind is not None else "null")
        if isinstance(value, dict | list) and not value:
            here.empty = True
        if kind == "number" and value == 0:
            here.zero = True
        if kind is not None and kind.startswith("string "):  # a short string holding digits: its layout
            here.layouts.setdefault(kind.removeprefix("string "), value)
    return seen


def code_path(path: Path) -> str:
    """A path as Python reads it from the handler's ``data``: ``json.loads(data["body"])["id"]``."""
    text = "data"
    for key in path:
        if key is ITEM:
            text += "[i]"
        elif key is JSON:
            text = f"json.loads({text})"
        elif isinstance(key, str):
            text += f"[{json.dumps(key)}]"
        else:
            text += f"[{key!r}]"
    return text


def _secret(path: Path) -> bool:
    return any(isinstance(key, str) and is_secret_key(key) for key in path)


def _kinds_text(kinds: set[str]) -> str:
    return " or ".join("null" if k == "null" else kind_name(k) for k in sorted(kinds))


def differences(data: Any, earlier: Sequence[Any]) -> list[str]:
    """One line per way ``data`` differs from all of ``earlier`` (at most :data:`MAX_LINES`); none
    when fewer than :data:`MIN_EARLIER` earlier inputs are there to compare with."""
    if len(earlier) < MIN_EARLIER:
        return []
    mine = _observe(data)
    theirs = [_observe(e) for e in earlier]
    lines: list[str] = []
    for path, seen in mine.items():
        if not path:
            continue
        having = [t[path] for t in theirs if path in t]
        where = f"`{code_path(path)}`"
        parent = path[:-1]
        if not having:
            # Report only where a new key starts, under a parent the earlier jobs had.
            # Under a dict that was always empty before (a map filled by data), every key is new.
            if path[-1] not in (ITEM, JSON) and any(parent in t and not t[parent].empty for t in theirs):
                lines.append(f"{where} is new: no earlier job had it")
            continue
        kinds_before = set().union(*(h.kinds for h in having))
        if seen.kinds - kinds_before:
            lines.append(f"{where} is {_kinds_text(seen.kinds - kinds_before)} here; in earlier jobs it was "
                         f"always {_kinds_text(kinds_before)}")
            continue
        if seen.empty and not any(h.empty for h in having):
            lines.append(f"{where} is empty here; it was never empty in earlier jobs")
        if seen.zero and not any(h.zero for h in having):
            lines.append(f"{where} is 0 here; it was never 0 in earlier jobs")
        layouts_before = {layout: example for h in having for layout, example in h.layouts.items()}
        new_layouts = [layout for layout in seen.layouts if layout not in layouts_before]
        # Earlier values in one or two layouts are a format (a date, an amount, a code); more, or
        # words between the digits, are free text such as a street line.
        if new_layouts and 0 < len(layouts_before) <= 2 and " " not in new_layouts[0] and not _secret(path):
            mine_example = redacted_json(seen.layouts[new_layouts[0]], QUOTE_CHARS)
            their_example = redacted_json(next(iter(layouts_before.values())), QUOTE_CHARS)
            lines.append(f"{where} is {mine_example} here; earlier jobs had values like {their_example}")
    lines += _missing(mine, theirs)
    return _ranked(lines)[:MAX_LINES]


def _missing(mine: dict[Path, _Seen], theirs: list[dict[Path, _Seen]]) -> list[str]:
    """Keys most earlier jobs had under a parent this job's data has, and this one lacks.

    Most, not all: a webhook whose ``amount`` was renamed also had earlier events with no amount
    at all (a failed payment), and the rename is still the news."""
    found: list[str] = []
    for path in sorted(set().union(*theirs), key=lambda p: (len(p), code_path(p))):
        if not path or path in mine or path[-1] in (ITEM, JSON) or path[:-1] not in mine:
            continue
        if "object" not in mine[path[:-1]].kinds:
            continue
        had = sum(1 for t in theirs if path in t)
        if had * 2 <= len(theirs):
            continue
        which = "every earlier job" if had == len(theirs) else f"{had} of {len(theirs)} earlier jobs"
        found.append(f"`{code_path(path)}` is missing here; {which} had it")
    return found


def _ranked(lines: list[str]) -> list[str]:
    # A key gone or a value of another kind names the cause more often than a zero or a layout.
    order = ("is missing", "here; in earlier jobs it was always", "is new", "is empty", "is 0", "values like")
    return sorted(lines, key=lambda line: next((i for i, o in enumerate(order) if o in line), len(order)))
