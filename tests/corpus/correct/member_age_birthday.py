"""Membership age check: the front desk now sends ``at`` as a date-time with an offset, which
``date.fromisoformat`` rejects (ValueError). The old ``days // 365`` also made some members a year
older just before their birthday (leap days add up). The fix reads both forms and counts birthdays,
rightly changing those earlier answers."""

KIND = "off-by-one"
STYLES = ("rewrite", "changes-history", "helper-extracted")
HANDLER = "member-age"

APP = {"membership/__init__.py": '''
"""Membership: age checks at the front desk."""
from datetime import date

from smartworker import handler


@handler("member-age")
def member_age(data):
    """Age in whole years on ``at`` of a member born on ``born`` (ISO dates), and whether adult."""
    born = date.fromisoformat(data["born"])
    at = date.fromisoformat(data["at"])
    age = (at - born).days // 365
    return {"member": data["member"], "age": age, "adult": age >= 18}
'''}

FAILING = {"member": "m-5", "born": "2008-12-07", "at": "2026-12-06T18:30:00+01:00"}
ERROR = "ValueError"
EXPECTED = {"member": "m-5", "age": 17, "adult": False}

HISTORY = [
    {"member": "m-1", "born": "1990-05-01", "at": "2026-01-01"},
    {"member": "m-2", "born": "2008-03-10", "at": "2026-03-07"},
    {"member": "m-3", "born": "2000-02-29", "at": "2026-02-28"},
]
HISTORY_WRONG = [1, 2]

ACCEPTANCE = [
    ({"member": "m-1", "born": "1990-05-01", "at": "2026-01-01"}, {"member": "m-1", "age": 35, "adult": True}),
    ({"member": "m-2", "born": "2008-03-10", "at": "2026-03-07"}, {"member": "m-2", "age": 17, "adult": False}),
    ({"member": "m-4", "born": "2008-03-10", "at": "2026-03-10T00:00:00"},
     {"member": "m-4", "age": 18, "adult": True}),
]

FIX = {"membership/__init__.py": '''
"""Membership: age checks at the front desk."""
from datetime import date, datetime

from smartworker import handler


def _day(text):
    """A calendar day from an ISO date or date-time (its own local date, offset or not)."""
    return datetime.fromisoformat(text).date() if "T" in text else date.fromisoformat(text)


def age_on(born, at):
    """Whole years from ``born`` to ``at``: one more at each birthday."""
    return at.year - born.year - ((at.month, at.day) < (born.month, born.day))


@handler("member-age")
def member_age(data):
    """Age in whole years on ``at`` of a member born on ``born`` (ISO dates), and whether adult."""
    age = age_on(_day(data["born"]), _day(data["at"]))
    return {"member": data["member"], "age": age, "adult": age >= 18}
'''}
