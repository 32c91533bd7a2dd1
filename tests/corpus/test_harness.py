"""The corpus item format: malformed items are refused with the problem named, and rejections are
put down to the gate whose words they carry."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.corpus.harness import ItemError, gate_of, load_item

ITEM = '''"""A handler that divides."""
KIND = "division-by-zero"
STYLES = ("guard-clause",)
HANDLER = "ratio"
APP = {"ratio/__init__.py": "from smartworker import handler\\n\\n@handler('ratio')\\n"
                           "def ratio(data):\\n    return data['a'] / data['b']\\n"}
FAILING = {"a": 1, "b": 0}
ERROR = "ZeroDivisionError"
EXPECTED = None
FIX = {"ratio/__init__.py": [(%r, %r)]}
'''


def _write(tmp_path: Path, old: str, new: str = "x") -> Path:
    path = tmp_path / "ratio_item.py"
    path.write_text(ITEM % (old, new), encoding="utf-8")
    return path


def test_a_replacement_applies_to_the_old_file(tmp_path: Path) -> None:
    old = "return data['a'] / data['b']"
    item = load_item(_write(tmp_path, old, old + " if data['b'] else None"))
    assert item.app_module == "ratio"
    assert "if data['b'] else None" in item.fix["ratio/__init__.py"]


@pytest.mark.parametrize("old", ["not in the file", "data"])
def test_a_replacement_must_match_exactly_once(tmp_path: Path, old: str) -> None:
    with pytest.raises(ItemError, match="not once"):
        load_item(_write(tmp_path, old))


def test_a_wrong_fix_must_name_a_correct_item(tmp_path: Path) -> None:
    path = tmp_path / "wrong_item.py"
    path.write_text('"""Wrong."""\nBASE = "nowhere"\nFLAW = "wrong-value"\nFIX = {}\n', encoding="utf-8")
    with pytest.raises(ItemError, match="not a correct item"):
        load_item(path, {})


@pytest.mark.parametrize(("reason", "gate"), [
    ("candidate 1 rejected: it drops `.split()` from f (a.py): keep every step", "dropped_call"),
    ("candidate 1 rejected: it hides the UnicodeDecodeError: `b.decode(errors='ignore')` drops or replaces",
     "lossy_codec"),
    ("candidate 1: regression on replay 1 of 3: an earlier job that worked now returns 1 instead of 2", "replay"),
    ("candidate 1: the job still fails with `x` absent instead of null (in the job data)", "variants"),
    ("candidate 1: the failing job now completes, but the result has no `k` key", "result_shape"),
    ("something new", "other"),
])
def test_a_rejection_is_put_down_to_its_gate(reason: str, gate: str) -> None:
    assert gate_of({"verdict": "rejected", "reason": reason, "trail": [{"outcome": reason}]}) == gate
    assert gate_of({"verdict": "fixed", "reason": reason}) == "-"
