"""Address labels: an import sends postcodes as numbers, so 01067 arrives as 1067 and
``postcode.zfill(5)`` raises AttributeError on an int. The fix formats any postcode as text, padded to
five digits as before."""

KIND = "type-conversion"
STYLES = ("small-edit",)
HANDLER = "address-label"

APP = {"addresses/__init__.py": '''
"""Addresses: the city line of a German address label."""
from smartworker import handler


@handler("address-label")
def address_label(data):
    """``<postcode, 5 digits> <CITY>`` for ``postcode`` and ``city``."""
    return {"line": f"{data['postcode'].zfill(5)} {data['city'].upper()}"}
'''}

FAILING = {"postcode": 1067, "city": "Dresden"}
ERROR = "AttributeError"
EXPECTED = {"line": "01067 DRESDEN"}

HISTORY = [{"postcode": "10115", "city": "Berlin"}, {"postcode": "1099", "city": "Dresden"}]

ACCEPTANCE = [
    ({"postcode": "10115", "city": "Berlin"}, {"line": "10115 BERLIN"}),
    ({"postcode": "1099", "city": "Dresden"}, {"line": "01099 DRESDEN"}),
    ({"postcode": 80331, "city": "München"}, {"line": "80331 MÜNCHEN"}),
]

FIX = {"addresses/__init__.py": [("data['postcode'].zfill(5)", "str(data['postcode']).zfill(5)")]}
