"""Sales commission: the tier loop reads ``TIERS[i + 1]`` to find a tier's upper edge, which raises
IndexError for sales in the top tier. The fix rewrites the lookup: the highest tier whose floor the
sales reach (no neighbour lookup, no index arithmetic)."""

KIND = "loop-bounds"
STYLES = ("rewrite", "drops-call")
HANDLER = "commission"

APP = {"commissions/__init__.py": '''
"""Commissions: a salesperson's commission for the month."""
from smartworker import handler

TIERS = [(0, 2), (10000, 4), (50000, 6)]  # (floor in euros, percent)


@handler("commission")
def commission(data):
    """Commission in euros (whole, rounded down) on ``sales``: the percent of the tier the sales reach."""
    for i in range(len(TIERS)):
        floor, percent = TIERS[i]
        if floor <= data["sales"] < TIERS[i + 1][0]:
            return {"rep": data["rep"], "percent": percent, "commission": data["sales"] * percent // 100}
    return {"rep": data["rep"], "percent": 0, "commission": 0}
'''}

FAILING = {"rep": "r-1", "sales": 72000}
ERROR = "IndexError"
EXPECTED = {"rep": "r-1", "percent": 6, "commission": 4320}

HISTORY = [{"rep": "r-2", "sales": 9999}, {"rep": "r-3", "sales": 10000}]

ACCEPTANCE = [
    ({"rep": "r-2", "sales": 9999}, {"rep": "r-2", "percent": 2, "commission": 199}),
    ({"rep": "r-3", "sales": 10000}, {"rep": "r-3", "percent": 4, "commission": 400}),
    ({"rep": "r-4", "sales": 50000}, {"rep": "r-4", "percent": 6, "commission": 3000}),
]

FIX = {"commissions/__init__.py": [(
    '''    for i in range(len(TIERS)):
        floor, percent = TIERS[i]
        if floor <= data["sales"] < TIERS[i + 1][0]:
            return {"rep": data["rep"], "percent": percent, "commission": data["sales"] * percent // 100}
    return {"rep": data["rep"], "percent": 0, "commission": 0}
''',
    '''    reached = [percent for floor, percent in TIERS if data["sales"] >= floor]
    percent = reached[-1] if reached else 0
    return {"rep": data["rep"], "percent": percent, "commission": data["sales"] * percent // 100}
''')]}
