"""Delivery estimates: the carrier integration sends ``days`` as a string, and ``range("3")`` raises
TypeError. The estimate counts business days, but the weekend test was ``weekday() > 5`` (Sunday only),
so earlier estimates over a Saturday came out a day early: the fix converts the count and skips
Saturdays too, rightly changing those answers."""

KIND = "off-by-one"
STYLES = ("changes-history", "small-edit")
HANDLER = "delivery-eta"

APP = {"eta/__init__.py": '''
"""ETA: the delivery date shown at checkout."""
from datetime import date, timedelta

from smartworker import handler


@handler("delivery-eta")
def delivery_eta(data):
    """``days`` business days (Monday to Friday) after ``shipped`` (ISO date)."""
    day = date.fromisoformat(data["shipped"])
    for _ in range(data["days"]):
        day += timedelta(days=1)
        while day.weekday() > 5:
            day += timedelta(days=1)
    return {"eta": day.isoformat()}
'''}

FAILING = {"shipped": "2026-12-07", "days": "3"}
ERROR = "TypeError"
EXPECTED = {"eta": "2026-12-10"}

HISTORY = [{"shipped": "2026-12-03", "days": 2}, {"shipped": "2026-12-01", "days": 1}]
HISTORY_WRONG = [0]

ACCEPTANCE = [
    ({"shipped": "2026-12-03", "days": 2}, {"eta": "2026-12-07"}),
    ({"shipped": "2026-12-01", "days": 1}, {"eta": "2026-12-02"}),
    ({"shipped": "2026-12-04", "days": "5"}, {"eta": "2026-12-11"}),
]

FIX = {"eta/__init__.py": [
    ('    for _ in range(data["days"]):\n', '    for _ in range(int(data["days"])):\n'),
    ("        while day.weekday() > 5:\n", "        while day.weekday() >= 5:  # 5 is Saturday, 6 Sunday\n"),
]}
