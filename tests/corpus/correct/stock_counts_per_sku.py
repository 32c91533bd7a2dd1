"""Stock count upload: handheld scanners now send quantities as "2.0", and ``int("2.0")`` raises
ValueError. The result is keyed by the job's own SKUs, so it rightly lacks the ``GIFT-WRAP`` key that
every earlier count happened to include."""

KIND = "type-conversion"
STYLES = ("shape-differs", "small-edit")
HANDLER = "stock-count"

APP = {"stockcount/__init__.py": '''
"""Stock count: totals per SKU from a scanner upload."""
from smartworker import handler


@handler("stock-count")
def stock_count(data):
    """Sum the ``scans`` (``sku``, ``qty``) per SKU for ``shelf``."""
    counts = {}
    for scan in data["scans"]:
        counts[scan["sku"]] = counts.get(scan["sku"], 0) + int(scan["qty"])
    return {"shelf": data["shelf"], "counts": counts}
'''}

FAILING = {"shelf": "B2", "scans": [{"sku": "TEA-1", "qty": "2.0"}, {"sku": "TEA-2", "qty": "1"},
                                     {"sku": "TEA-1", "qty": 3}]}
ERROR = "ValueError"
EXPECTED = {"shelf": "B2", "counts": {"TEA-1": 5, "TEA-2": 1}}

HISTORY = [
    {"shelf": "A1", "scans": [{"sku": "GIFT-WRAP", "qty": 10}, {"sku": "CARD", "qty": "4"}]},
    {"shelf": "A2", "scans": [{"sku": "GIFT-WRAP", "qty": 2}]},
    {"shelf": "A3", "scans": [{"sku": "GIFT-WRAP", "qty": 1}, {"sku": "PEN", "qty": 7}]},
]

ACCEPTANCE = [
    ({"shelf": "A1", "scans": [{"sku": "GIFT-WRAP", "qty": 10}, {"sku": "CARD", "qty": "4"}]},
     {"shelf": "A1", "counts": {"GIFT-WRAP": 10, "CARD": 4}}),
    ({"shelf": "C1", "scans": []}, {"shelf": "C1", "counts": {}}),
    ({"shelf": "C2", "scans": [{"sku": "X", "qty": "0.0"}]}, {"shelf": "C2", "counts": {"X": 0}}),
]
REJECTS = [({"shelf": "C3", "scans": [{"sku": "X", "qty": "2.5"}]}, "ValueError")]

FIX = {"stockcount/__init__.py": [(
    "int(scan[\"qty\"])",
    "whole(scan[\"qty\"])",
), ("from smartworker import handler\n", '''from smartworker import handler


def whole(qty):
    """A count sent as 2, "2" or "2.0"; a fraction of an item is an error in the upload."""
    number = float(qty)
    if not number.is_integer():
        raise ValueError(f"a count must be whole, got {qty!r}")
    return int(number)
''')]}
