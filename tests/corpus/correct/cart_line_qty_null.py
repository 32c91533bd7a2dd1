"""Guest baskets: the storefront sends ``qty`` null for a line added with one click, and
``null * price`` raises TypeError. The cart rules (docstring) say a line without a quantity counts
as one item; the fix says so where the quantity is read, null and absent alike."""

KIND = "none-optional"
STYLES = ("small-edit",)
HANDLER = "basket-total"

APP = {"basket/__init__.py": '''
"""Basket: the total of a guest's basket."""
from smartworker import handler


@handler("basket-total")
def basket_total(data):
    """Sum of ``qty`` times ``cents`` over ``lines``; a line without a quantity is one item."""
    items = 0
    total = 0
    for line in data["lines"]:
        qty = line.get("qty", 1)
        items += qty
        total += qty * line["cents"]
    return {"items": items, "total_cents": total}
'''}

FAILING = {"lines": [{"sku": "a", "cents": 300, "qty": None}, {"sku": "b", "cents": 150, "qty": 2}]}
ERROR = "TypeError"
EXPECTED = {"items": 3, "total_cents": 600}

HISTORY = [{"lines": [{"sku": "a", "cents": 300}]}, {"lines": [{"sku": "b", "cents": 150, "qty": 4}]}]

ACCEPTANCE = [
    ({"lines": [{"sku": "a", "cents": 300}]}, {"items": 1, "total_cents": 300}),
    ({"lines": [{"sku": "b", "cents": 150, "qty": 4}]}, {"items": 4, "total_cents": 600}),
    ({"lines": [{"sku": "c", "cents": 99, "qty": 0}]}, {"items": 0, "total_cents": 0}),
]

FIX = {"basket/__init__.py": [('        qty = line.get("qty", 1)\n',
                               '        qty = 1 if line.get("qty") is None else line["qty"]\n')]}
