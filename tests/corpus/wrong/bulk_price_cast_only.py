"""Converts the quantity and keeps ``> 10``: the crash stops, earlier answers are unchanged, and an order of
exactly 10 still pays full price."""
BASE = "bulk_price_tier_boundary"
FLAW = "wrong-value"
FIX = {"wholesale/__init__.py": [('    qty = data["qty"]\n', '    qty = int(data["qty"])\n')]}
