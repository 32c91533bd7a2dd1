"""Receipts: the till now sends the VAT rate as "19%", and ``net * "19%"`` raises TypeError. The
receipt rules round each line's VAT half up to the cent, but ``round()`` rounds half to even
(a 12.5-cent VAT became 12): the fix parses the rate and rounds half up in integers, rightly
changing those earlier receipts."""

KIND = "float-decimal"
STYLES = ("changes-history", "helper-extracted")
HANDLER = "receipt-vat"

APP = {"till/__init__.py": '''
"""Till: the VAT lines of a receipt."""
from smartworker import handler


@handler("receipt-vat")
def receipt_vat(data):
    """VAT per line: ``net_cents`` times ``rate`` percent, rounded half up to the cent; and the sum."""
    lines = [round(line["net_cents"] * line["rate"] / 100) for line in data["lines"]]
    return {"vat_cents": lines, "total_vat_cents": sum(lines)}
'''}

FAILING = {"lines": [{"net_cents": 1000, "rate": "19%"}, {"net_cents": 250, "rate": 7}]}
ERROR = "TypeError"
EXPECTED = {"vat_cents": [190, 18], "total_vat_cents": 208}

HISTORY = [{"lines": [{"net_cents": 250, "rate": 5}]}, {"lines": [{"net_cents": 100, "rate": 19}]},
           {"lines": [{"net_cents": 150, "rate": 7}]}]
HISTORY_WRONG = [0, 2]

ACCEPTANCE = [
    ({"lines": [{"net_cents": 250, "rate": 5}]}, {"vat_cents": [13], "total_vat_cents": 13}),
    ({"lines": [{"net_cents": 150, "rate": 7}]}, {"vat_cents": [11], "total_vat_cents": 11}),
    ({"lines": []}, {"vat_cents": [], "total_vat_cents": 0}),
]

FIX = {"till/__init__.py": '''
"""Till: the VAT lines of a receipt."""
from smartworker import handler


def percent(rate):
    """A rate as sent: 19 or "19%" (whole percent)."""
    return int(str(rate).strip().rstrip("%"))


def vat(net_cents, rate):
    """``net_cents * rate / 100`` rounded half up, in integers so no binary fraction decides a cent."""
    return (net_cents * percent(rate) * 2 + 100) // 200


@handler("receipt-vat")
def receipt_vat(data):
    """VAT per line: ``net_cents`` times ``rate`` percent, rounded half up to the cent; and the sum."""
    lines = [vat(line["net_cents"], line["rate"]) for line in data["lines"]]
    return {"vat_cents": lines, "total_vat_cents": sum(lines)}
'''}
