"""Clamps the neighbour index: the top tier compares with its own floor, so top sellers get 0 % commission."""
BASE = "commission_top_tier"
FLAW = "wrong-value"
FIX = {"commissions/__init__.py": [("TIERS[i + 1][0]", "TIERS[min(i + 1, len(TIERS) - 1)][0]")]}
