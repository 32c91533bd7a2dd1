"""Divides by ``total or 1``: nothing to refund is reported as a refund of 0 cents with a refund id."""
BASE = "refund_nothing_to_refund"
FLAW = "hiding-default"
FIX = {"refunds/__init__.py": [('// sum(item["cents"] for item in data["items"] if item["usable"])', '// (sum(item["cents"] for item in data["items"] if item["usable"]) or 1)')]}
