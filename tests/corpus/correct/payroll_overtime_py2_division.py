"""Payroll overtime: code from Python 2 computes whole overtime blocks with ``/``, which is now true
division, so ``range(blocks)`` raises TypeError for a float. The fix computes the blocks with ``//``
and pays each block without the loop."""

KIND = "integer-division"
STYLES = ("rewrite", "drops-call")
HANDLER = "overtime-pay"

APP = {"payroll/__init__.py": '''
"""Payroll: overtime pay for a week."""
from smartworker import handler

BLOCK_MINUTES = 15


@handler("overtime-pay")
def overtime_pay(data):
    """Overtime above 40 hours (``minutes`` worked) is paid per whole 15-minute block, at
    ``rate_cents`` an hour times 1.5."""
    if data["minutes"] <= 40 * 60:
        return {"employee": data["employee"], "overtime_cents": 0}
    extra = data["minutes"] - 40 * 60
    pay = 0
    for _ in range(extra / BLOCK_MINUTES):
        pay += data["rate_cents"] * 3 // 8
    return {"employee": data["employee"], "overtime_cents": pay}
'''}

FAILING = {"employee": "e-4", "minutes": 2450, "rate_cents": 2000}
ERROR = "TypeError"
EXPECTED = {"employee": "e-4", "overtime_cents": 2250}

ACCEPTANCE = [
    ({"employee": "e-1", "minutes": 2400, "rate_cents": 2000}, {"employee": "e-1", "overtime_cents": 0}),
    ({"employee": "e-2", "minutes": 2100, "rate_cents": 2000}, {"employee": "e-2", "overtime_cents": 0}),
    ({"employee": "e-3", "minutes": 2414, "rate_cents": 1600}, {"employee": "e-3", "overtime_cents": 0}),
    ({"employee": "e-5", "minutes": 3000, "rate_cents": 1600}, {"employee": "e-5", "overtime_cents": 24000}),
]
HISTORY = [{"employee": "e-1", "minutes": 2400, "rate_cents": 2000},
           {"employee": "e-2", "minutes": 2100, "rate_cents": 2000}]

FIX = {"payroll/__init__.py": [(
    '''    pay = 0
    for _ in range(extra / BLOCK_MINUTES):
        pay += data["rate_cents"] * 3 // 8
''',
    '''    # A block is a quarter hour at time and a half: rate * 1.5 / 4 = rate * 3 / 8.
    pay = (extra // BLOCK_MINUTES) * (data["rate_cents"] * 3 // 8)
''')]}
