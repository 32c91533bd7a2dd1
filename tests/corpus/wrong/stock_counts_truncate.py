"""``int(float(qty))``: "2.0" works, and "2.5" is silently counted as 2 instead of being refused."""
BASE = "stock_counts_per_sku"
FLAW = "wrong-value"
FIX = {"stockcount/__init__.py": [('int(scan["qty"])', 'int(float(scan["qty"]))')]}
