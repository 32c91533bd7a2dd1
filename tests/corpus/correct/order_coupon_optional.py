"""Order confirmation: orders without a coupon leave the ``coupon`` key out, and ``data["coupon"]``
raises KeyError. The docstring says the coupon is optional, absent or null; the fix reads it once
and skips the coupon line when there is none."""

KIND = "missing-key"
STYLES = ("guard-clause",)
HANDLER = "confirm-order"

APP = {"confirmation/__init__.py": '''
"""Confirmation: the summary lines of an order confirmation."""
from smartworker import handler


@handler("confirm-order")
def confirm_order(data):
    """Summary lines for ``order``: its total, and the ``coupon`` used (optional: absent or null
    when the buyer used none)."""
    lines = [f"Order {data['order']}: {data['total_cents'] / 100:.2f} EUR"]
    lines.append(f"Coupon: {data['coupon'].upper()}")
    return {"lines": lines}
'''}

FAILING = {"order": "B-7", "total_cents": 1999}
ERROR = "KeyError"
EXPECTED = {"lines": ["Order B-7: 19.99 EUR"]}

HISTORY = [{"order": "B-1", "total_cents": 500, "coupon": "xmas"}]

ACCEPTANCE = [
    ({"order": "B-1", "total_cents": 500, "coupon": "xmas"}, {"lines": ["Order B-1: 5.00 EUR", "Coupon: XMAS"]}),
    ({"order": "B-8", "total_cents": 100, "coupon": None}, {"lines": ["Order B-8: 1.00 EUR"]}),
    ({"order": "B-9", "total_cents": 0, "coupon": ""}, {"lines": ["Order B-9: 0.00 EUR"]}),
]

FIX = {"confirmation/__init__.py": [(
    '''    lines.append(f"Coupon: {data['coupon'].upper()}")''',
    '''    coupon = data.get("coupon")
    if coupon:
        lines.append(f"Coupon: {coupon.upper()}")''')]}
