"""Keeps the earlier layout by cutting the number to its last five digits: ORD-2026-104233 becomes
ORD-2026-04233, another order's reference."""
BASE = "order_reference_digits"
FLAW = "wrong-value"
FIX = {"orders/__init__.py": [("{data['seq']:05d}", "{int(data['seq']) % 100000:05d}")]}
