"""Strips the "%" and keeps ``round()``: half-cent VAT is still rounded to even, against the receipt rules."""
BASE = "vat_line_half_up"
FLAW = "wrong-value"
FIX = {"till/__init__.py": [('line["net_cents"] * line["rate"] / 100', 'line["net_cents"] * float(str(line["rate"]).rstrip("%")) / 100')]}
