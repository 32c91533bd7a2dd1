"""Library loans: the new self-service kiosk sends ``borrowed`` as epoch seconds, and
``date.fromisoformat`` raises TypeError for an int. The library is closed on Sundays, but the old
check compared ``weekday()`` with 7 (Sunday is 6), so earlier loans due on a Sunday were never moved
to Monday: the fix rightly changes those due dates."""

KIND = "off-by-one"
STYLES = ("changes-history", "helper-extracted")
HANDLER = "loan-due"

APP = {"library/__init__.py": '''
"""Library: when a loan is due back."""
from datetime import date, timedelta

from smartworker import handler


@handler("loan-due")
def loan_due(data):
    """Due date of a loan of ``item`` borrowed on ``borrowed`` (ISO date): three weeks later, or the
    Monday after when that is a Sunday (the library is closed)."""
    due = date.fromisoformat(data["borrowed"]) + timedelta(days=21)
    if due.weekday() == 7:
        due += timedelta(days=1)
    return {"item": data["item"], "due": due.isoformat()}
'''}

FAILING = {"item": "b-77", "borrowed": 1796515200}
ERROR = "TypeError"
EXPECTED = {"item": "b-77", "due": "2026-12-28"}

HISTORY = [{"item": "b-1", "borrowed": "2026-11-08"}, {"item": "b-2", "borrowed": "2026-11-10"}]
HISTORY_WRONG = [0]

ACCEPTANCE = [
    ({"item": "b-1", "borrowed": "2026-11-08"}, {"item": "b-1", "due": "2026-11-30"}),
    ({"item": "b-2", "borrowed": "2026-11-10"}, {"item": "b-2", "due": "2026-12-01"}),
    ({"item": "b-3", "borrowed": 1794096000}, {"item": "b-3", "due": "2026-11-30"}),
]

FIX = {"library/__init__.py": '''
"""Library: when a loan is due back."""
from datetime import date, datetime, timedelta, timezone

from smartworker import handler

SUNDAY = 6  # date.weekday(): Monday is 0


def borrowed_on(value):
    """The loan day: an ISO date, or epoch seconds from the kiosk (the library's clock is UTC)."""
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, tz=timezone.utc).date()
    return date.fromisoformat(value)


@handler("loan-due")
def loan_due(data):
    """Due date of a loan of ``item`` borrowed on ``borrowed`` (ISO date): three weeks later, or the
    Monday after when that is a Sunday (the library is closed)."""
    due = borrowed_on(data["borrowed"]) + timedelta(days=21)
    if due.weekday() == SUNDAY:
        due += timedelta(days=1)
    return {"item": data["item"], "due": due.isoformat()}
'''}
