"""Login lockout: the mobile app reports failed logins with an offset ("...+00:00"), which the
naive ``datetime.utcfromtimestamp`` clock cannot be compared with (TypeError). The fix moves to the
aware successor ``datetime.fromtimestamp(ts, tz=timezone.utc)`` (dropping the deprecated call that
the failing line relies on) and reads offset-less timestamps as UTC, as before."""

KIND = "naive-aware-datetime"
STYLES = ("api-migration", "drops-call")
HANDLER = "login-lockout"

APP = {"auth/__init__.py": '''
"""Auth: lock accounts after repeated failed logins."""
from datetime import datetime, timedelta

from smartworker import handler

WINDOW = timedelta(minutes=15)
LIMIT = 5


@handler("login-lockout")
def login_lockout(data):
    """Count ``failures`` (ISO timestamps, UTC) in the 15 minutes before ``at`` (epoch seconds)."""
    now = datetime.utcfromtimestamp(data["at"])
    recent = [ts for ts in data["failures"] if now - datetime.fromisoformat(ts) <= WINDOW]
    return {"user": data["user"], "recent_failures": len(recent), "locked": len(recent) >= LIMIT}
'''}

FAILING = {"user": "mia", "at": 1764583200,
           "failures": ["2025-12-01T09:50:00+00:00", "2025-12-01T09:55:00+00:00", "2025-12-01T08:00:00+00:00"]}
ERROR = "TypeError"
EXPECTED = {"user": "mia", "recent_failures": 2, "locked": False}

HISTORY = [
    {"user": "ben", "at": 1764583200, "failures": ["2025-12-01T09:59:00"] * 5},
    {"user": "ida", "at": 1764583200, "failures": ["2025-12-01T09:00:00", "2025-12-01T09:50:00"]},
    {"user": "tom", "at": 1764583200, "failures": []},
]

ACCEPTANCE = [
    ({"user": "ben", "at": 1764583200, "failures": ["2025-12-01T09:59:00"] * 5},
     {"user": "ben", "recent_failures": 5, "locked": True}),
    ({"user": "eva", "at": 1764583200, "failures": ["2025-12-01T10:50:00+01:00", "2025-12-01T09:59:59Z"] * 3},
     {"user": "eva", "recent_failures": 6, "locked": True}),
    ({"user": "tom", "at": 1764583200, "failures": []}, {"user": "tom", "recent_failures": 0, "locked": False}),
]

FIX = {"auth/__init__.py": '''
"""Auth: lock accounts after repeated failed logins."""
from datetime import datetime, timedelta, timezone

from smartworker import handler

WINDOW = timedelta(minutes=15)
LIMIT = 5


def _utc(stamp):
    moment = datetime.fromisoformat(stamp)
    # Older clients send no offset; their clocks were always UTC.
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment


@handler("login-lockout")
def login_lockout(data):
    """Count ``failures`` (ISO timestamps, UTC) in the 15 minutes before ``at`` (epoch seconds)."""
    now = datetime.fromtimestamp(data["at"], tz=timezone.utc)
    recent = [ts for ts in data["failures"] if now - _utc(ts) <= WINDOW]
    return {"user": data["user"], "recent_failures": len(recent), "locked": len(recent) >= LIMIT}
'''}
