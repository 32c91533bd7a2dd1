"""Reorder list: deleting sold-out SKUs from ``levels`` while iterating over it raises RuntimeError
(dictionary changed size during iteration). The fix builds the pruned dict in one comprehension;
the ``del`` goes."""

KIND = "mutable-state"
STYLES = ("rewrite", "drops-call")
HANDLER = "reorder-list"

APP = {"reorder/__init__.py": '''
"""Reorder: which SKUs to buy again."""
from smartworker import handler


@handler("reorder-list")
def reorder_list(data):
    """SKUs of ``levels`` at or below their ``min`` need reordering; sold-out discontinued SKUs
    (listed in ``discontinued``) are left out."""
    levels = data["levels"]
    for sku in levels:
        if sku in data["discontinued"] and levels[sku] == 0:
            del levels[sku]
    return {"reorder": sorted(sku for sku, level in levels.items() if level <= data["min"])}
'''}

FAILING = {"levels": {"A": 0, "B": 5, "C": 1}, "discontinued": ["A"], "min": 2}
ERROR = "RuntimeError"
EXPECTED = {"reorder": ["C"]}

HISTORY = [{"levels": {"A": 3, "B": 1}, "discontinued": [], "min": 2}]

ACCEPTANCE = [
    ({"levels": {"A": 3, "B": 1}, "discontinued": [], "min": 2}, {"reorder": ["B"]}),
    ({"levels": {"A": 0, "B": 0}, "discontinued": ["A", "B"], "min": 2}, {"reorder": []}),
    ({"levels": {"A": 1}, "discontinued": ["A"], "min": 2}, {"reorder": ["A"]}),
]

FIX = {"reorder/__init__.py": [(
    '''    levels = data["levels"]
    for sku in levels:
        if sku in data["discontinued"] and levels[sku] == 0:
            del levels[sku]
''',
    '''    gone = set(data["discontinued"])
    levels = {sku: level for sku, level in data["levels"].items() if not (sku in gone and level == 0)}
''')]}
