"""Order references: the order service now sends ``seq`` as a string, and the ``:05d`` format raises
ValueError for a str. The fix converts it; sequence numbers past 99999 rightly give six digits, a
layout no earlier reference had ("ORD-2026-104233" against "ORD-2026-00042")."""

KIND = "type-conversion"
STYLES = ("shape-differs", "small-edit")
HANDLER = "order-reference"

APP = {"orders/__init__.py": '''
"""Orders: the reference printed on invoices and labels."""
from smartworker import handler


@handler("order-reference")
def order_reference(data):
    """The reference for order ``seq`` of ``year``: ``ORD-<year>-<seq, at least 5 digits>``."""
    return {"reference": f"ORD-{data['year']}-{data['seq']:05d}"}
'''}

FAILING = {"year": 2026, "seq": "104233"}
ERROR = "ValueError"
EXPECTED = {"reference": "ORD-2026-104233"}

HISTORY = [{"year": 2026, "seq": 42}, {"year": 2025, "seq": 9001}, {"year": 2026, "seq": 77}]

ACCEPTANCE = [
    ({"year": 2026, "seq": 42}, {"reference": "ORD-2026-00042"}),
    ({"year": 2026, "seq": "7"}, {"reference": "ORD-2026-00007"}),
    ({"year": 2027, "seq": 123456}, {"reference": "ORD-2027-123456"}),
]

FIX = {"orders/__init__.py": [("{data['seq']:05d}", "{int(data['seq']):05d}")]}
