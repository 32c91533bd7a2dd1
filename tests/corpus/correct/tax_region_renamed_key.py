"""VAT lookup: the checkout service renamed ``country`` to ``country_code``, so ``data["country"]``
raises KeyError on new jobs. The fix reads the new key and still accepts the old one from jobs queued
before the rename."""

KIND = "renamed-key"
STYLES = ("small-edit",)
HANDLER = "vat-for-order"

APP = {"vat/__init__.py": '''
"""VAT: the tax on an order by the buyer's country."""
from smartworker import handler

RATES = {"DE": 19, "FR": 20, "AT": 20, "LU": 17}


@handler("vat-for-order")
def vat_for_order(data):
    """VAT in cents on ``net_cents`` for the buyer's two-letter country code (unknown: 0 %)."""
    rate = RATES.get(data["country"].upper(), 0)
    return {"rate": rate, "vat_cents": data["net_cents"] * rate // 100}
'''}

FAILING = {"country_code": "fr", "net_cents": 10000}
ERROR = "KeyError"
EXPECTED = {"rate": 20, "vat_cents": 2000}

HISTORY = [{"country": "DE", "net_cents": 1000}, {"country": "us", "net_cents": 500}]

ACCEPTANCE = [
    ({"country": "DE", "net_cents": 1000}, {"rate": 19, "vat_cents": 190}),
    ({"country_code": "LU", "net_cents": 999}, {"rate": 17, "vat_cents": 169}),
    ({"country_code": "CH", "net_cents": 999}, {"rate": 0, "vat_cents": 0}),
]

FIX = {"vat/__init__.py": [(
    'rate = RATES.get(data["country"].upper(), 0)',
    '# Jobs queued before the rename still carry "country".\n'
    '    country = data["country_code"] if "country_code" in data else data["country"]\n'
    '    rate = RATES.get(country.upper(), 0)',
)]}
