"""Supplier XML feed: ``Element.getchildren()`` was removed in Python 3.9, and it is only called for
products with variants, which raise AttributeError. The fix iterates the element (its documented
successor) and uses ``findtext`` for the optional colour."""

KIND = "api-misuse"
STYLES = ("api-migration", "drops-call")
HANDLER = "import-feed"

APP = {"feeds/__init__.py": '''
"""Feeds: read a supplier's product XML."""
import xml.etree.ElementTree as ET

from smartworker import handler


@handler("import-feed")
def import_feed(data):
    """Each ``<product sku=...>`` of ``xml`` with its ``<variant sku=...>`` children's SKUs."""
    root = ET.fromstring(data["xml"])
    products = {}
    for product in root.iter("product"):
        variants = product.find("variants")
        products[product.get("sku")] = [] if variants is None else [v.get("sku") for v in variants.getchildren()]
    return {"products": products}
'''}

FAILING = {"xml": "<feed><product sku='T1'><variants><variant sku='T1-S'/><variant sku='T1-M'/></variants>"
                  "</product><product sku='C9'/></feed>"}
ERROR = "AttributeError"
EXPECTED = {"products": {"T1": ["T1-S", "T1-M"], "C9": []}}

HISTORY = [{"xml": "<feed><product sku='A'/><product sku='B'/></feed>"}, {"xml": "<feed/>"}]

ACCEPTANCE = [
    ({"xml": "<feed><product sku='A'/><product sku='B'/></feed>"}, {"products": {"A": [], "B": []}}),
    ({"xml": "<feed><product sku='X'><variants/></product></feed>"}, {"products": {"X": []}}),
    ({"xml": "<feed><product sku='Y'><variants><variant sku='Y1'/></variants></product></feed>"},
     {"products": {"Y": ["Y1"]}}),
]

FIX = {"feeds/__init__.py": [("[v.get(\"sku\") for v in variants.getchildren()]",
                              "[v.get(\"sku\") for v in variants]")]}
