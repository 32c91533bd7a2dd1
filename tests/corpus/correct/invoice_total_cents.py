"""Invoice totals: the new checkout sends unit prices as decimal strings, and ``qty * "2.675"``
repeats the string, so the sum raises TypeError. The old float path also rounded some totals a cent
low (``round(1.005 * 100)`` is 100): the right fix computes in Decimal, rounding half up, and rightly
changes those earlier totals."""

KIND = "float-decimal"
STYLES = ("rewrite", "changes-history")
HANDLER = "invoice-total"

APP = {"invoicing/__init__.py": '''
"""Invoicing: totals of an order's lines."""
from smartworker import handler


@handler("invoice-total")
def invoice_total(data):
    """Total of ``lines`` (``qty`` times ``unit_price`` in euros) in whole cents, rounded half up."""
    total = sum(line["qty"] * line["unit_price"] for line in data["lines"])
    return {"invoice": data["invoice"], "total_cents": round(total * 100)}
'''}

FAILING = {"invoice": "INV-88", "lines": [{"qty": 2, "unit_price": "2.675"}, {"qty": 1, "unit_price": "10"}]}
ERROR = "TypeError"
EXPECTED = {"invoice": "INV-88", "total_cents": 1535}

HISTORY = [
    {"invoice": "INV-10", "lines": [{"qty": 1, "unit_price": 1.005}]},
    {"invoice": "INV-11", "lines": [{"qty": 3, "unit_price": 4.5}, {"qty": 1, "unit_price": 0.25}]},
    {"invoice": "INV-12", "lines": [{"qty": 10, "unit_price": 12}]},
]
HISTORY_WRONG = [0]

ACCEPTANCE = [
    ({"invoice": "INV-10", "lines": [{"qty": 1, "unit_price": 1.005}]}, {"invoice": "INV-10", "total_cents": 101}),
    ({"invoice": "INV-11", "lines": [{"qty": 3, "unit_price": 4.5}, {"qty": 1, "unit_price": 0.25}]},
     {"invoice": "INV-11", "total_cents": 1375}),
    ({"invoice": "INV-13", "lines": []}, {"invoice": "INV-13", "total_cents": 0}),
]

FIX = {"invoicing/__init__.py": '''
"""Invoicing: totals of an order's lines."""
from decimal import ROUND_HALF_UP, Decimal

from smartworker import handler


@handler("invoice-total")
def invoice_total(data):
    """Total of ``lines`` (``qty`` times ``unit_price`` in euros) in whole cents, rounded half up."""
    # str() first: Decimal(1.005) would carry the float's binary error into the total.
    total = sum((line["qty"] * Decimal(str(line["unit_price"])) for line in data["lines"]), Decimal(0))
    cents = (total * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return {"invoice": data["invoice"], "total_cents": int(cents)}
'''}
