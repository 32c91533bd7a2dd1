"""Meeting invitations: an attendee profile with a zone name the system does not know ("US/Pacific-New")
makes ``ZoneInfo`` raise ``ZoneInfoNotFoundError``, a KeyError, while the code catches ValueError (for
malformed names). The docstring says unknown zones fall back to UTC; the fix catches the exception
``zoneinfo`` actually raises for them."""

KIND = "exception-handling"
STYLES = ("right-exception", "small-edit")
HANDLER = "meeting-local-time"

APP = {"meetings/__init__.py": '''
"""Meetings: a meeting's start in an attendee's local time."""
from datetime import datetime
from zoneinfo import ZoneInfo

from smartworker import handler


@handler("meeting-local-time")
def meeting_local_time(data):
    """``start`` (ISO, with offset) in the attendee's ``tz``; an unknown or malformed zone means UTC."""
    try:
        zone = ZoneInfo(data["tz"])
    except ValueError:
        zone = ZoneInfo("UTC")
    local = datetime.fromisoformat(data["start"]).astimezone(zone)
    return {"attendee": data["attendee"], "local": local.strftime("%Y-%m-%d %H:%M"), "zone": str(zone)}
'''}

FAILING = {"attendee": "kai", "tz": "US/Pacific-New", "start": "2026-12-07T15:00:00+00:00"}
ERROR = "ZoneInfoNotFoundError"
EXPECTED = {"attendee": "kai", "local": "2026-12-07 15:00", "zone": "UTC"}

HISTORY = [{"attendee": "lea", "tz": "Europe/Berlin", "start": "2026-12-07T15:00:00+00:00"},
           {"attendee": "max", "tz": "../etc", "start": "2026-12-07T15:00:00+00:00"}]

ACCEPTANCE = [
    ({"attendee": "lea", "tz": "Europe/Berlin", "start": "2026-12-07T15:00:00+00:00"},
     {"attendee": "lea", "local": "2026-12-07 16:00", "zone": "Europe/Berlin"}),
    ({"attendee": "max", "tz": "../etc", "start": "2026-12-07T15:00:00+00:00"},
     {"attendee": "max", "local": "2026-12-07 15:00", "zone": "UTC"}),
    ({"attendee": "noa", "tz": "Mars/Olympus", "start": "2026-12-07T23:30:00-01:00"},
     {"attendee": "noa", "local": "2026-12-08 00:30", "zone": "UTC"}),
]

FIX = {"meetings/__init__.py": [
    ("from zoneinfo import ZoneInfo\n", "from zoneinfo import ZoneInfo, ZoneInfoNotFoundError\n"),
    ("    except ValueError:\n", "    except (ValueError, ZoneInfoNotFoundError):\n"),
]}
