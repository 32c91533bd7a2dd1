"""Shipping quote: a new shop plugin sends the parcel weight as a string ("1200"), and comparing
it with the bracket limits raises TypeError. The fix converts it. The docstring documents
``currency`` as accepted from old clients and ignored (quotes are always in EUR): the code rightly
does not read it."""

KIND = "type-conversion"
STYLES = ("docstring-ignored-key", "small-edit")
HANDLER = "shipping-quote"

APP = {"shipping/__init__.py": '''
"""Shipping: quote a parcel by weight."""
from smartworker import handler

BRACKETS = [(1000, 490), (5000, 790), (20000, 1490)]


@handler("shipping-quote")
def shipping_quote(data):
    """Quote a parcel of ``grams``. ``currency`` is still sent by older shop plugins and is ignored:
    quotes are always in euro cents."""
    grams = data["grams"]
    for limit, cents in BRACKETS:
        if grams <= limit:
            return {"cents": cents, "currency": "EUR"}
    return {"cents": None, "currency": "EUR"}
'''}

FAILING = {"grams": "1200", "currency": "EUR"}
ERROR = "TypeError"
EXPECTED = {"cents": 790, "currency": "EUR"}

HISTORY = [{"grams": 800, "currency": "EUR"}, {"grams": 25000}, {"grams": 5000, "currency": "USD"}]

ACCEPTANCE = [
    ({"grams": 800, "currency": "EUR"}, {"cents": 490, "currency": "EUR"}),
    ({"grams": "19999.5", "currency": "CHF"}, {"cents": 1490, "currency": "EUR"}),
    ({"grams": 25000}, {"cents": None, "currency": "EUR"}),
]

FIX = {"shipping/__init__.py": [('    grams = data["grams"]\n', '    grams = float(data["grams"])\n')]}
