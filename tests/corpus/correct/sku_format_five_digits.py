"""Product import: the catalogue's SKU numbers reached five digits ("TEA-10001"), and the pattern
``[A-Z]{3}-\\d{4}$`` no longer matches, so ``match.group`` on None raises AttributeError. The docstring
describes the format as three letters, a dash and a number; the fix's pattern says that."""

KIND = "parse-format"
STYLES = ("small-edit",)
HANDLER = "sku-parts"

APP = {"catalogue/__init__.py": '''
"""Catalogue: the parts of a SKU."""
import re

from smartworker import handler

SKU = re.compile(r"([A-Z]{3})-(\\d{4})$")


@handler("sku-parts")
def sku_parts(data):
    """The category (three letters) and number of ``sku`` (``ABC-1234``: letters, a dash, a number)."""
    match = SKU.match(data["sku"].strip().upper())
    return {"category": match.group(1), "number": int(match.group(2))}
'''}

FAILING = {"sku": "tea-10001"}
ERROR = "AttributeError"
EXPECTED = {"category": "TEA", "number": 10001}

HISTORY = [{"sku": "MUG-0042"}, {"sku": " pen-1234"}]

ACCEPTANCE = [
    ({"sku": "MUG-0042"}, {"category": "MUG", "number": 42}),
    ({"sku": " pen-1234"}, {"category": "PEN", "number": 1234}),
    ({"sku": "CUP-123456"}, {"category": "CUP", "number": 123456}),
]

FIX = {"catalogue/__init__.py": [('SKU = re.compile(r"([A-Z]{3})-(\\d{4})$")', 'SKU = re.compile(r"([A-Z]{3})-(\\d+)$")')]}
