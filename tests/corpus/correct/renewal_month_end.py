"""Subscription renewals: the next renewal is ``start.replace(month=start.month + 1)``, which raises
ValueError for 31 January (no 31 February) and for December (month 13). The fix adds a month the way
billing systems do: same day, or the last day of a shorter month; year carried."""

KIND = "loop-bounds"
STYLES = ("helper-extracted", "drops-call")
HANDLER = "next-renewal"

APP = {"subscriptions/__init__.py": '''
"""Subscriptions: when a monthly plan renews."""
from datetime import date

from smartworker import handler


@handler("next-renewal")
def next_renewal(data):
    """The renewal one month after ``renewed`` (ISO date) for ``plan``."""
    start = date.fromisoformat(data["renewed"])
    return {"plan": data["plan"], "next": start.replace(month=start.month + 1).isoformat()}
'''}

FAILING = {"plan": "pro", "renewed": "2026-01-31"}
ERROR = "ValueError"
EXPECTED = {"plan": "pro", "next": "2026-02-28"}

HISTORY = [{"plan": "basic", "renewed": "2026-03-15"}, {"plan": "pro", "renewed": "2026-04-30"}]

ACCEPTANCE = [
    ({"plan": "basic", "renewed": "2026-03-15"}, {"plan": "basic", "next": "2026-04-15"}),
    ({"plan": "pro", "renewed": "2026-12-31"}, {"plan": "pro", "next": "2027-01-31"}),
    ({"plan": "pro", "renewed": "2028-01-30"}, {"plan": "pro", "next": "2028-02-29"}),
]

FIX = {"subscriptions/__init__.py": '''
"""Subscriptions: when a monthly plan renews."""
import calendar
from datetime import date

from smartworker import handler


def add_month(day):
    """The same day a month later, or the last day of that month when it is shorter."""
    year, month = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@handler("next-renewal")
def next_renewal(data):
    """The renewal one month after ``renewed`` (ISO date) for ``plan``."""
    return {"plan": data["plan"], "next": add_month(date.fromisoformat(data["renewed"])).isoformat()}
'''}
