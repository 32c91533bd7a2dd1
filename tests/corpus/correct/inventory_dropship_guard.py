"""Stock reservation: drop-shipped lines have no ``warehouse`` (null), and ``None.upper()`` raises
AttributeError. The fix adds a guard: those lines are reserved at the supplier, listed apart, and
every stocked line is reserved as before."""

KIND = "none-optional"
STYLES = ("guard-clause",)
HANDLER = "reserve-stock"

APP = {"inventory/__init__.py": '''
"""Inventory: reserve the stock an order needs."""
from smartworker import handler


@handler("reserve-stock")
def reserve_stock(data):
    """Reserve each line's ``qty`` of ``sku`` in its ``warehouse``; drop-shipped lines (no warehouse)
    are listed under ``supplier`` for the supplier to reserve."""
    reserved = {}
    supplier = []
    for line in data["lines"]:
        site = line["warehouse"].upper()
        reserved.setdefault(site, {})
        reserved[site][line["sku"]] = reserved[site].get(line["sku"], 0) + line["qty"]
    return {"order": data["order"], "reserved": reserved, "supplier": supplier}
'''}

FAILING = {"order": "O-7", "lines": [{"sku": "LAMP", "qty": 1, "warehouse": "ber"},
                                     {"sku": "SOFA", "qty": 1, "warehouse": None},
                                     {"sku": "LAMP", "qty": 2, "warehouse": "BER"}]}
ERROR = "AttributeError"
EXPECTED = {"order": "O-7", "reserved": {"BER": {"LAMP": 3}}, "supplier": ["SOFA"]}

HISTORY = [
    {"order": "O-1", "lines": [{"sku": "MUG", "qty": 4, "warehouse": "ham"}]},
    {"order": "O-2", "lines": [{"sku": "MUG", "qty": 1, "warehouse": "ham"}, {"sku": "CUP", "qty": 2,
                                                                             "warehouse": "ber"}]},
]

ACCEPTANCE = [
    ({"order": "O-1", "lines": [{"sku": "MUG", "qty": 4, "warehouse": "ham"}]},
     {"order": "O-1", "reserved": {"HAM": {"MUG": 4}}, "supplier": []}),
    ({"order": "O-8", "lines": [{"sku": "BED", "qty": 1, "warehouse": None}]},
     {"order": "O-8", "reserved": {}, "supplier": ["BED"]}),
    ({"order": "O-9", "lines": []}, {"order": "O-9", "reserved": {}, "supplier": []}),
]

FIX = {"inventory/__init__.py": [(
    '''    for line in data["lines"]:
        site = line["warehouse"].upper()
''',
    '''    for line in data["lines"]:
        if line.get("warehouse") is None:
            supplier.append(line["sku"])
            continue
        site = line["warehouse"].upper()
''')]}
