"""Price list upload: Excel's "Unicode text" export is UTF-16 with a byte-order mark, and
``raw.decode("utf-8")`` raises UnicodeDecodeError. The fix picks the codec from the BOM (UTF-16, or
UTF-8 with or without a BOM); nothing is dropped or replaced."""

KIND = "encoding"
STYLES = ("helper-extracted",)
HANDLER = "import-price-list"

APP = {"pricelist/__init__.py": '''
"""Price list: read an uploaded tab-separated price list."""
import base64

from smartworker import handler


@handler("import-price-list")
def import_price_list(data):
    """Prices in cents by SKU from ``file_b64``: tab-separated ``sku``/``price`` lines after a header."""
    raw = base64.b64decode(data["file_b64"])
    lines = raw.decode("utf-8").splitlines()[1:]
    prices = {}
    for line in lines:
        sku, price = line.split("\\t")
        prices[sku] = round(float(price) * 100)
    return {"prices": prices}
'''}

FAILING = {"file_b64": "//5zAGsAdQAJAHAAcgBpAGMAZQAKAEMA5AAtADEACQAyAC4ANQAwAAoA"}
ERROR = "UnicodeDecodeError"
EXPECTED = {"prices": {"Cä-1": 250}}

HISTORY = [{"file_b64": "c2t1CXByaWNlCkEtMQkxLjk5ClotOQkxMAo="}]

ACCEPTANCE = [
    ({"file_b64": "c2t1CXByaWNlCkEtMQkxLjk5ClotOQkxMAo="}, {"prices": {"A-1": 199, "Z-9": 1000}}),
    ({"file_b64": "77u/c2t1CXByaWNlCkLDpC0yCTMK"}, {"prices": {"Bä-2": 300}}),
    ({"file_b64": "c2t1CXByaWNlCg=="}, {"prices": {}}),
]

FIX = {"pricelist/__init__.py": [
    ('lines = raw.decode("utf-8").splitlines()[1:]', "lines = text_of(raw).splitlines()[1:]"),
    ("from smartworker import handler\n", '''from smartworker import handler


def text_of(raw):
    """The upload as text: UTF-16 when it starts with a UTF-16 byte-order mark, else UTF-8 (a UTF-8
    byte-order mark dropped)."""
    if raw.startswith((b"\\xff\\xfe", b"\\xfe\\xff")):
        return raw.decode("utf-16")
    return raw.decode("utf-8-sig")
'''),
]}
