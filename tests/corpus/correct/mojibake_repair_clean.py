"""Supplier names: a repair step re-reads every name as Latin-1 bytes decoded as UTF-8 (undoing
"MÃ¼ller" mojibake from the old ERP). The new ERP sends clean text, and "Łukasz" cannot be encoded as
Latin-1 (UnicodeEncodeError). The fix applies the repair only where it works: a name that is not
Latin-1 mojibake is already right, which is what the two decode errors mean."""

KIND = "encoding"
STYLES = ("right-exception", "helper-extracted")
HANDLER = "supplier-name"

APP = {"suppliers/__init__.py": '''
"""Suppliers: the name printed on purchase orders."""
from smartworker import handler


@handler("supplier-name")
def supplier_name(data):
    """``name`` with old ERP mojibake ("MÃ¼ller") repaired."""
    return {"supplier": data["supplier"], "name": data["name"].encode("latin-1").decode("utf-8")}
'''}

FAILING = {"supplier": "s-5", "name": "Łukasz Wiśniewski"}
ERROR = "UnicodeEncodeError"
EXPECTED = {"supplier": "s-5", "name": "Łukasz Wiśniewski"}

HISTORY = [{"supplier": "s-1", "name": "MÃ¼ller GmbH"}, {"supplier": "s-2", "name": "Acme"}]

ACCEPTANCE = [
    ({"supplier": "s-1", "name": "MÃ¼ller GmbH"}, {"supplier": "s-1", "name": "Müller GmbH"}),
    ({"supplier": "s-3", "name": "Café Zürich"}, {"supplier": "s-3", "name": "Café Zürich"}),
    ({"supplier": "s-2", "name": "Acme"}, {"supplier": "s-2", "name": "Acme"}),
]

FIX = {"suppliers/__init__.py": [
    ('"name": data["name"].encode("latin-1").decode("utf-8")}', '"name": repaired(data["name"])}'),
    ("from smartworker import handler\n", '''from smartworker import handler


def repaired(name):
    """``name`` as the old ERP meant it: UTF-8 bytes once misread as Latin-1 are read again; a name
    that is not such mojibake (not Latin-1, or not UTF-8 underneath) is already right."""
    try:
        return name.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return name
'''),
]}
