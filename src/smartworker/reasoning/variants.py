"""Input variants that make the verdict harder to fool: an absent field and a null field.

JSON producers send both forms for the same meaning, and a fix for a missing field often handles
only the form the failing job had: ``.get("line2", "")`` survives an absent key and still breaks on
``"line2": null``. FixBench showed this as the commonest false fix. So for every field the change
touches that the failing data lacks or holds as null, the candidate is also run on the data with
that field in the other form, and it must complete there too.

Another false fix FixBench showed guards the one element that failed, not the aggregate around it: a
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


def _reads(lines: Iterable[str]) -> set[tuple[str, str]]:
    return {(m.group("receiver"), m.group("key")) for line in lines for m in _FIELD_READ.finditer(line)}


def _body(diff: str) -> list[str]:
    return [ln for ln in diff.splitlines() if not ln.startswith(("+++", "---", "@@"))]


def touched_fields(diff: str, failing_code: str = "") -> set[tuple[str, str]]:
    """(receiver, key) reads on the lines a unified diff adds or removes, and on the failing line."""
    return _reads([*(ln[1:] for ln in _body(diff) if ln[:1] in "+-"), failing_code])


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
    becomes null in a dict that holds a sibling: a field the code reads from the same receiver.

    The sibling is required for the absent case so that a key is only added where the code reads
    it, not to every dict in the payload (a handler that iterates over a dict would see a new entry).
    """
    fields = set(touched)
    names = {key for _, key in fields}
    reads = fields | set(nearby)
    siblings = {key: {k for r, k in reads if k != key and (r, key) in fields} for key in names}
    variants: list[Variant] = []
    for path, node in _dicts(data):
        for key in sorted(names):
            if key in node and node[key] is None:
                changed = copy.deepcopy(data)
                del _at(changed, path)[key]
                variants.append(Variant(f"`{key}` absent instead of null (in {_where(path)})", changed))
            elif key not in node and siblings[key] & set(node) and not _list_record(path):
                changed = copy.deepcopy(data)
                _at(changed, path)[key] = None
                variants.append(Variant(f"`{key}` null instead of absent (in {_where(path)})", changed))
            if len(variants) >= MAX_VARIANTS:
                return variants
    return variants


def _list_record(path: tuple[str | int, ...]) -> bool:
    # Only the first record of a list is walked; a change there would test one record of many and
    # say nothing about the rest, so records in lists get only the null-to-absent variant.
    return bool(path) and isinstance(path[-1], int)


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
