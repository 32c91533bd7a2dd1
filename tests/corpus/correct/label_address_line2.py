"""Shipping labels: addresses without a second line leave ``line2`` out, and ``data["line2"]`` raises
KeyError. The docstring says the second line is optional (absent, null or empty) and left off the
label; the fix builds the label from the lines that are there."""

KIND = "missing-key"
STYLES = ("rewrite",)
HANDLER = "label-address"

APP = {"labelprint/__init__.py": '''
"""Label print: the address block of a shipping label."""
from smartworker import handler


@handler("label-address")
def label_address(data):
    """The label's lines: ``name``, ``line1``, the optional ``line2`` (absent, null or empty: left off),
    then ``postcode`` and ``city``."""
    return {"lines": [data["name"], data["line1"], data["line2"], f"{data['postcode']} {data['city']}"]}
'''}

FAILING = {"name": "R. Roe", "line1": "Hauptstr. 1", "postcode": "10115", "city": "Berlin"}
ERROR = "KeyError"
EXPECTED = {"lines": ["R. Roe", "Hauptstr. 1", "10115 Berlin"]}

HISTORY = [{"name": "J. Doe", "line1": "Ring 2", "line2": "c/o Acme", "postcode": "20095", "city": "Hamburg"}]

ACCEPTANCE = [
    ({"name": "J. Doe", "line1": "Ring 2", "line2": "c/o Acme", "postcode": "20095", "city": "Hamburg"},
     {"lines": ["J. Doe", "Ring 2", "c/o Acme", "20095 Hamburg"]}),
    ({"name": "A", "line1": "B", "line2": None, "postcode": "1", "city": "C"}, {"lines": ["A", "B", "1 C"]}),
    ({"name": "A", "line1": "B", "line2": "", "postcode": "1", "city": "C"}, {"lines": ["A", "B", "1 C"]}),
]

FIX = {"labelprint/__init__.py": [(
    '''    return {"lines": [data["name"], data["line1"], data["line2"], f"{data['postcode']} {data['city']}"]}''',
    '''    lines = [data["name"], data["line1"], data.get("line2"), f"{data['postcode']} {data['city']}"]
    return {"lines": [line for line in lines if line]}''')]}
