"""Casts the string prices to float and keeps ``round(total * 100)``: the crash stops and every earlier
total is unchanged, but 1.005 still comes out a cent low (100 instead of 101)."""
BASE = "invoice_total_cents"
FLAW = "wrong-value"
FIX = {"invoicing/__init__.py": [('line["qty"] * line["unit_price"]', 'line["qty"] * float(line["unit_price"])')]}
