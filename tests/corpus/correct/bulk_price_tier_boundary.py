"""Bulk pricing: the wholesale form sends ``qty`` as a string, and ``"12" > 10`` raises TypeError.
The price list says "from 10 items, 10 % off", but the code tested ``qty > 10``, so earlier orders
of exactly 10 paid full price without failing: the fix converts the quantity and uses ``>=``,
rightly changing those answers."""

KIND = "off-by-one"
STYLES = ("changes-history", "small-edit")
HANDLER = "bulk-price"

APP = {"wholesale/__init__.py": '''
"""Wholesale: the price of a bulk order line."""
from smartworker import handler


@handler("bulk-price")
def bulk_price(data):
    """``qty`` times ``unit_cents``; from 10 items 10 % off, from 50 items 20 % off (cents, rounded down)."""
    qty = data["qty"]
    gross = qty * data["unit_cents"]
    percent = 20 if qty > 50 else 10 if qty > 10 else 0
    return {"sku": data["sku"], "cents": gross * (100 - percent) // 100, "discount_percent": percent}
'''}

FAILING = {"sku": "bolt", "qty": "12", "unit_cents": 25}
ERROR = "TypeError"
EXPECTED = {"sku": "bolt", "cents": 270, "discount_percent": 10}

HISTORY = [{"sku": "nut", "qty": 10, "unit_cents": 10}, {"sku": "nut", "qty": 5, "unit_cents": 10},
           {"sku": "nut", "qty": 60, "unit_cents": 10}]
HISTORY_WRONG = [0]

ACCEPTANCE = [
    ({"sku": "nut", "qty": 10, "unit_cents": 10}, {"sku": "nut", "cents": 90, "discount_percent": 10}),
    ({"sku": "nut", "qty": 50, "unit_cents": 10}, {"sku": "nut", "cents": 400, "discount_percent": 20}),
    ({"sku": "nut", "qty": "9", "unit_cents": 10}, {"sku": "nut", "cents": 90, "discount_percent": 0}),
]

FIX = {"wholesale/__init__.py": [
    ('    qty = data["qty"]\n', '    qty = int(data["qty"])\n'),
    ("percent = 20 if qty > 50 else 10 if qty > 10 else 0", "percent = 20 if qty >= 50 else 10 if qty >= 10 else 0"),
]}
