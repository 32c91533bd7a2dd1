"""``if "coupon" in data``: handles the coupon's absence, not its arrival as null (``None.upper()``)."""
BASE = "order_coupon_optional"
FLAW = "half-null"
FIX = {"confirmation/__init__.py": [('    lines.append(f"Coupon:', '    if "coupon" in data:\n        lines.append(f"Coupon:')]}
