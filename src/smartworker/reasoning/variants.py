"""Input variants that make the verdict harder to fool: an absent field and a null field.

JSON producers send both forms for the same meaning, and a fix for a missing field often handles
only the form the failing job had: ``.get("line2", "")`` survives an absent key and still breaks on
``"line2": null``. So for every field the change reads that the failing data lacks or holds as
null (a single key of a dict too), the candidate is also run on the data with that field in the
other form, and it must complete there too.

Another false fix guards the one element that failed, not the aggregate around it: a
division by ``campaign["visits"]`` is guarded, the division by the total visits is not, and
``{"campaigns": []}`` still raises. So a list the change reads, or whose records hold a field it
reads, is also emptied. Such a variant is *tolerant*: refusing an empty list with some error can be
right, so it fails the candidate only when it repeats the original exception type (or ends
abnormally); see :func:`smartworker.sandbox.verdict.verify`.
"""

from __future__ import annotations

import copy
import re
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

#: A field read from a dict: ``receiver["key"]`` or ``receiver.get("key"`` (pop and setdefault too).
#: Only reads count: a quoted string elsewhere (an encoding, a default, an output key) is no field.
_FIELD_READ = re.compile(
    r"""(?P<receiver>[A-Za-z_][A-Za-z0-9_]*(?:\[[^\]]{1,40}\])*)\s*"""
    r"""(?:\[\s*|\.(?:get|pop|setdefault)\(\s*)["'](?P<key>[A-Za-z_][A-Za-z0-9_\-]{0,63})["']""")
#: At most this many variants per candidate: each one is a sandbox run.
MAX_VARIANTS = 4
#: At most this many empty-collection variants, on top of MAX_VARIANTS: the shallowest lists the
#: change reads are the likeliest aggregates, and a candidate then takes at most 6 variant runs.
MAX_EMPTY_VARIANTS = 2
#: Dicts visited in the data, breadth first; a huge payload is not walked to the end.
MAX_NODES = 200


@dataclass(frozen=True)
class Variant:
    """The failing job's data with one field in its other missing form, or one list emptied."""

    description: str  #: e.g. "`line2` null instead of absent (in order.ship_to)"
    data: dict[str, Any]
    #: True: the candidate must complete on it. False (an emptied list): it must only not repeat the
    #: original failure, since an empty input may rightly be refused with another error.
    strict: bool = True
    #: With ``strict``: the variant must also give the failing data's own answer (False where the
    #: variant's placement of a null is a guess, see :func:`missing_value_variants`).
    same_answer: bool = True


def _reads(lines: Iterable[str]) -> set[tuple[str, str]]:
    return {(m.group("receiver"), m.group("key")) for line in lines for m in _FIELD_READ.finditer(line)}


def _body(diff: str) -> list[str]:
    return [ln for ln in diff.splitlines() if not ln.startswith(("+++", "---", "@@"))]


def touched_fields(diff: str, failing_code: str = "") -> set[tuple[str, str]]:
    """(receiver, key) reads the change makes differently, and those on the failing line.

    A read is compared as written (``data.get("lang"`` / ``data["lang"``): one a rewritten line
    carries over unchanged is not touched, since the change handles that key as the code did."""
    lines = _body(diff)
    added = {_whole(ln[1:], m): m for ln in lines if ln[:1] == "+" for m in _FIELD_READ.finditer(ln[1:])}
    removed = {_whole(ln[1:], m): m for ln in lines if ln[:1] == "-" for m in _FIELD_READ.finditer(ln[1:])}
    changed = [m for text, m in {**added, **removed}.items() if (text in added) != (text in removed)]
    return {(m.group("receiver"), m.group("key")) for m in changed} | _reads([failing_code])


def _whole(line: str, match: re.Match[str]) -> str:
    """A read as written, to its closing bracket: ``data.get("x", "")`` differs from ``data.get("x")``."""
    depth, end = 1, match.end()
    while end < len(line) and depth:
        depth += {"(": 1, "[": 1, ")": -1, "]": -1}.get(line[end], 0)
        end += 1
    return line[match.start():end]


def nearby_fields(diff: str, failing_code: str = "") -> set[tuple[str, str]]:
    """(receiver, key) reads anywhere in the diff's hunks (context lines too), and on the failing line."""
    return _reads([*(ln[1:] for ln in _body(diff)), failing_code])


def _dicts(data: dict[str, Any]) -> list[tuple[tuple[str | int, ...], dict[str, Any]]]:
    """Every dict in ``data`` with its path, shallowest first, at most MAX_NODES."""
    found: list[tuple[tuple[str | int, ...], dict[str, Any]]] = []
    queue: deque[tuple[tuple[str | int, ...], Any]] = deque([((), data)])
    while queue and len(found) < MAX_NODES:
        path, node = queue.popleft()
        if isinstance(node, dict):
            found.append((path, node))
            queue.extend(((*path, k), v) for k, v in node.items() if isinstance(v, dict | list))
        elif isinstance(node, list) and node:
            # Records in a list share a shape; the first stands for the rest.
            queue.append(((*path, 0), node[0]))
    return found


def _at(data: Any, path: tuple[str | int, ...]) -> Any:
    for part in path:
        data = data[part]
    return data


def _where(path: tuple[str | int, ...]) -> str:
    return ".".join(str(p) for p in path) or "the job data"


def missing_value_variants(data: dict[str, Any], touched: Iterable[tuple[str, str]],
                           nearby: Iterable[tuple[str, str]] = ()) -> list[Variant]:
    """Variants of ``data`` where a touched field that is null becomes absent, or one that is absent
    becomes null: every key the change reads gets its other missing form, a single key too.

    An absent key is made null where the code reads it: in the dicts that hold a sibling (a key the
    code reads from the same receiver), else in the dicts the receiver names (``order["ship_to"]``:
    every ``ship_to``), else in the job data itself and the first record of each list. The last
    placement is a guess about the receiver, so such a variant is tolerant: it must not repeat the
    original failure (``.get(key, "").strip()`` on a null), but may answer otherwise or refuse it.
    """
    fields = set(touched)
    names = {key for _, key in fields}
    reads = fields | set(nearby)
    siblings = {key: {k for r, k in reads if k != key and (r, key) in fields} for key in names}
    named = {key: {m for r, k in fields if k == key for m in _RECEIVER_KEY.findall(r)[-1:]} for key in names}
    dicts = _dicts(data)
    variants: list[Variant] = []
    for key in sorted(names):
        if any(key in node for _, node in dicts):
            for path, node in dicts:
                if key in node and node[key] is None:
                    changed = copy.deepcopy(data)
                    del _at(changed, path)[key]
                    # Tolerant: a producer that sends the key as null may always send it; a fix that
                    # reads it may refuse it absent with another error, not with the original one.
                    variants.append(Variant(f"`{key}` absent instead of null (in {_where(path)})", changed,
                                            strict=False))
            continue
        places = [p for p, node in dicts if siblings[key] & set(node)]
        same = True
        if not places:
            places = [p for p, _ in dicts if p and p[-1] in named[key]]
        if not places:
            places, same = [p for p, _ in dicts if not p or isinstance(p[-1], int)], False
        for path in places:
            changed = copy.deepcopy(data)
            _at(changed, path)[key] = None
            variants.append(Variant(f"`{key}` null instead of absent (in {_where(path)})", changed,
                                    strict=same, same_answer=same))
    return variants[:MAX_VARIANTS]


#: The quoted keys of a receiver expression (``order["ship_to"]`` -> ship_to).
_RECEIVER_KEY = re.compile(r"""\[\s*["']([A-Za-z_][A-Za-z0-9_\-]*)["']\s*\]""")


def deliberate_failure(failing_code: str) -> bool:
    """Whether the failing line raises on purpose (``raise``, ``assert``): the handler's own refusal.

    Its exception type is then also the right answer to bad input, and an emptied list is often bad
    input (a page past the end of no items), so empty-collection variants would reject correct fixes.
    """
    return re.match(r"\s*(?:raise|assert)\b", failing_code) is not None


def empty_collection_variants(data: dict[str, Any], touched: Iterable[tuple[str, str]],
                              nearby: Iterable[tuple[str, str]] = ()) -> list[Variant]:
    """Tolerant variants of ``data`` with one non-empty list replaced by ``[]``: a list that is the
    value of a field the code reads (touched or nearby), or a list of records holding a touched field.

    The second form finds the collection behind a per-record read: the diff guards
    ``campaign["visits"]`` and the data holds ``campaigns: [{"visits": ...}]``. Shallowest lists come
    first, at most MAX_EMPTY_VARIANTS of them.
    """
    fields = set(touched)
    in_records = {key for _, key in fields}
    read = in_records | {key for _, key in nearby}
    variants: list[Variant] = []
    for path, node in _dicts(data):
        for key, value in node.items():
            if not (isinstance(value, list) and value):
                continue
            # Records in a list share a shape, as in _dicts: the first stands for the rest. One test
            # per list, so a list both read and holding touched records is emptied once.
            first = value[0]
            holds_touched = isinstance(first, dict) and not in_records.isdisjoint(first)
            if key not in read and not holds_touched:
                continue
            changed = copy.deepcopy(data)
            _at(changed, path)[key] = []
            variants.append(Variant(f"`{key}` empty (in {_where(path)})", changed, strict=False))
            if len(variants) >= MAX_EMPTY_VARIANTS:
                return variants
    return variants
