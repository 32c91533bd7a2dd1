"""``line.get("qty") or 1``: handles the null, and also turns an explicit 0 into one item."""
BASE = "cart_line_qty_null"
FLAW = "half-null"
FIX = {"basket/__init__.py": [('        qty = line.get("qty", 1)\n', '        qty = line.get("qty") or 1\n')]}
