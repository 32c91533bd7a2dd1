"""Currency conversion: the rates module only holds EUR-based pairs, and converting USD to EUR looks
up "USD/EUR", which raises KeyError in ``rates.py``. The fix spans both modules: ``rates.rate``
derives an inverse pair (in Decimal, so 1/rate keeps its digits) and the handler asks for the rate by
base and quote."""

KIND = "multi-file"
STYLES = ("multi-file", "helper-extracted")
HANDLER = "convert-amount"

APP = {
    "fx/__init__.py": '''
"""FX: convert an amount between currencies."""
from decimal import ROUND_HALF_EVEN, Decimal

from smartworker import handler

from .rates import RATES


@handler("convert-amount")
def convert_amount(data):
    """``cents`` in ``from`` as cents of ``to`` (banker's rounding, as the ledger does)."""
    rate = RATES[f"{data['from']}/{data['to']}"]
    converted = (Decimal(data["cents"]) * rate).quantize(Decimal(1), rounding=ROUND_HALF_EVEN)
    return {"cents": int(converted), "currency": data["to"]}
''',
    "fx/rates.py": '''
"""Reference rates, per one EUR."""
from decimal import Decimal

RATES = {"EUR/USD": Decimal("1.0800"), "EUR/GBP": Decimal("0.8500"), "EUR/CHF": Decimal("0.9600")}
''',
}

FAILING = {"cents": 10800, "from": "USD", "to": "EUR"}
ERROR = "KeyError"
EXPECTED = {"cents": 10000, "currency": "EUR"}

HISTORY = [{"cents": 1000, "from": "EUR", "to": "GBP"}, {"cents": 333, "from": "EUR", "to": "USD"}]

ACCEPTANCE = [
    ({"cents": 1000, "from": "EUR", "to": "GBP"}, {"cents": 850, "currency": "GBP"}),
    ({"cents": 100, "from": "CHF", "to": "EUR"}, {"cents": 104, "currency": "EUR"}),
    ({"cents": 500, "from": "EUR", "to": "EUR"}, {"cents": 500, "currency": "EUR"}),
]

FIX = {
    "fx/__init__.py": [("from .rates import RATES\n", "from .rates import rate\n"),
                       ('rate = RATES[f"{data[\'from\']}/{data[\'to\']}"]\n    converted = (Decimal(data["cents"]) * rate)',
                        'converted = (Decimal(data["cents"]) * rate(data["from"], data["to"]))')],
    "fx/rates.py": '''
"""Reference rates, per one EUR."""
from decimal import Decimal

RATES = {"EUR/USD": Decimal("1.0800"), "EUR/GBP": Decimal("0.8500"), "EUR/CHF": Decimal("0.9600")}


def rate(base, quote):
    """Units of ``quote`` per unit of ``base``: a listed pair, its inverse, or 1 for the same currency."""
    if base == quote:
        return Decimal(1)
    if f"{base}/{quote}" in RATES:
        return RATES[f"{base}/{quote}"]
    return 1 / RATES[f"{quote}/{base}"]
''',
}
