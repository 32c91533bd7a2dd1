"""Coupons: the marketing tool now stores the discount as "15%", and ``float("15%")`` raises
ValueError. The fix reads the number with or without the percent sign."""

KIND = "parse-format"
STYLES = ("small-edit", "helper-extracted")
HANDLER = "apply-coupon"

APP = {"coupons/__init__.py": '''
"""Coupons: a basket's price after a percentage coupon."""
from smartworker import handler


@handler("apply-coupon")
def apply_coupon(data):
    """``basket_cents`` less the coupon's ``percent`` (rounded down to the cent, never below zero)."""
    percent = float(data["percent"])
    discount = int(data["basket_cents"] * percent / 100)
    return {"code": data["code"], "discount_cents": discount, "pay_cents": max(0, data["basket_cents"] - discount)}
'''}

FAILING = {"code": "WINTER15", "percent": "15%", "basket_cents": 4999}
ERROR = "ValueError"
EXPECTED = {"code": "WINTER15", "discount_cents": 749, "pay_cents": 4250}

HISTORY = [{"code": "TEN", "percent": 10, "basket_cents": 2000}, {"code": "HALF", "percent": "50", "basket_cents": 999}]

ACCEPTANCE = [
    ({"code": "TEN", "percent": 10, "basket_cents": 2000}, {"code": "TEN", "discount_cents": 200, "pay_cents": 1800}),
    ({"code": "HALF", "percent": "50", "basket_cents": 999}, {"code": "HALF", "discount_cents": 499, "pay_cents": 500}),
    ({"code": "X", "percent": " 12.5 % ", "basket_cents": 800}, {"code": "X", "discount_cents": 100, "pay_cents": 700}),
]

FIX = {"coupons/__init__.py": [
    ('percent = float(data["percent"])', 'percent = as_percent(data["percent"])'),
    ("from smartworker import handler\n", '''from smartworker import handler


def as_percent(value):
    """A percentage as sent: 15, "15" or "15%"."""
    return float(str(value).strip().rstrip("%"))
'''),
]}
