"""Marketplace listings: sellers in Germany type prices as "1.234,56", and ``float()`` raises
ValueError. The listing carries the seller's ``locale``; the fix reads the number by the locale's
separators (the English form is unchanged)."""

KIND = "parse-format"
STYLES = ("helper-extracted",)
HANDLER = "listing-price"

APP = {"listings/__init__.py": '''
"""Listings: a seller's price in cents."""
from smartworker import handler


@handler("listing-price")
def listing_price(data):
    """``price`` as typed by the seller (in their ``locale``'s number format) in cents."""
    return {"listing": data["listing"], "cents": round(float(data["price"].replace(",", "")) * 100)}
'''}

FAILING = {"listing": "l-4", "price": "1.234.567,89", "locale": "de_DE"}
ERROR = "ValueError"
EXPECTED = {"listing": "l-4", "cents": 123456789}

HISTORY = [{"listing": "l-1", "price": "1,234.50", "locale": "en_US"}, {"listing": "l-2", "price": "9.99", "locale": "en_GB"}]

ACCEPTANCE = [
    ({"listing": "l-1", "price": "1,234.50", "locale": "en_US"}, {"listing": "l-1", "cents": 123450}),
    ({"listing": "l-5", "price": "12,5", "locale": "de_AT"}, {"listing": "l-5", "cents": 1250}),
    ({"listing": "l-6", "price": "7", "locale": "fr_FR"}, {"listing": "l-6", "cents": 700}),
]

FIX = {"listings/__init__.py": [
    ('round(float(data["price"].replace(",", "")) * 100)', 'round(amount(data["price"], data["locale"]) * 100)'),
    ("from smartworker import handler\n", '''from smartworker import handler

#: languages that write a decimal comma and group thousands with "." (or a space)
DECIMAL_COMMA = {"de", "fr", "es", "it", "nl", "pt", "pl"}


def amount(text, locale):
    """A number as people of ``locale`` (``de_DE``, ``en_US``) type it."""
    if locale.split("_")[0] in DECIMAL_COMMA:
        text = text.replace(".", "").replace(" ", "").replace(",", ".")
    else:
        text = text.replace(",", "")
    return float(text)
'''),
]}
