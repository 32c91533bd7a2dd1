"""Loyalty points: the tiers module returns the multiplier as text from the marketing sheet ("1.5"),
and ``euros * "1.5"`` in the handler raises TypeError.
The fix spans both modules: the tiers module gives numbers (Decimal, so 1.5 x 333 has no binary
error) and the handler rounds the points down as the programme's rules say."""

KIND = "multi-file"
STYLES = ("multi-file", "helper-extracted")
HANDLER = "award-points"

APP = {
    "loyalty/__init__.py": '''
"""Loyalty: points for a purchase."""
from smartworker import handler

from .tiers import multiplier


@handler("award-points")
def award_points(data):
    """One point per euro of ``cents`` times the member's tier multiplier, rounded down to whole points."""
    euros = data["cents"] / 100
    return {"member": data["member"], "points": int(euros * multiplier(data["tier"]))}
''',
    "loyalty/tiers.py": '''
"""Tier multipliers as the marketing sheet lists them."""

SHEET = {"basic": "1", "silver": "1.5", "gold": "2"}


def multiplier(tier):
    """The multiplier of ``tier``."""
    return SHEET[tier]
''',
}

FAILING = {"member": "m-2", "cents": 33350, "tier": "silver"}
ERROR = "TypeError"
EXPECTED = {"member": "m-2", "points": 500}

ACCEPTANCE = [
    ({"member": "m-1", "cents": 1999, "tier": "basic"}, {"member": "m-1", "points": 19}),
    ({"member": "m-3", "cents": 100, "tier": "gold"}, {"member": "m-3", "points": 2}),
    ({"member": "m-4", "cents": 99, "tier": "silver"}, {"member": "m-4", "points": 1}),
]

FIX = {
    "loyalty/__init__.py": [("    euros = data[\"cents\"] / 100\n", "    euros = Decimal(data[\"cents\"]) / 100\n"),
                            ("from smartworker import handler\n", "from decimal import Decimal\n\nfrom smartworker import handler\n")],
    "loyalty/tiers.py": [('''    """The multiplier of ``tier``."""
    return SHEET[tier]''', '''    """The multiplier of ``tier``, as a number (Decimal: 1.5 stays exact)."""
    return Decimal(SHEET[tier])'''), ('"""Tier multipliers as the marketing sheet lists them."""\n',
                                      '"""Tier multipliers as the marketing sheet lists them."""\nfrom decimal import Decimal\n')],
}
