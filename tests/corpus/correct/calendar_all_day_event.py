"""Calendar import: an all-day event's ``DTSTART;VALUE=DATE:20261224`` has no time, so
``strptime(..., "%Y%m%dT%H%M%SZ")`` raises ValueError. The fix reads both forms; an all-day start is
a date ("2026-12-24"), a layout no earlier start had."""

KIND = "parse-format"
STYLES = ("shape-differs", "helper-extracted")
HANDLER = "import-event"

APP = {"calendarsync/__init__.py": '''
"""Calendar sync: read an event from iCalendar text."""
from datetime import datetime, timezone

from smartworker import handler


@handler("import-event")
def import_event(data):
    """The ``SUMMARY`` and start of the event in ``ics``; ``all_day`` when the start is a date."""
    fields = {}
    for line in data["ics"].splitlines():
        name, _, value = line.partition(":")
        fields[name.split(";")[0]] = value
    start = datetime.strptime(fields["DTSTART"], "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
    return {"title": fields["SUMMARY"], "start": start.isoformat(), "all_day": False}
'''}

FAILING = {"ics": "BEGIN:VEVENT\nSUMMARY:Office closed\nDTSTART;VALUE=DATE:20261224\nEND:VEVENT"}
ERROR = "ValueError"
EXPECTED = {"title": "Office closed", "start": "2026-12-24", "all_day": True}

HISTORY = [{"ics": "BEGIN:VEVENT\nSUMMARY:Standup\nDTSTART:20261201T090000Z\nEND:VEVENT"},
           {"ics": "BEGIN:VEVENT\nSUMMARY:Review: Q4\nDTSTART:20261202T143000Z\nEND:VEVENT"}]

ACCEPTANCE = [
    ({"ics": "BEGIN:VEVENT\nSUMMARY:Standup\nDTSTART:20261201T090000Z\nEND:VEVENT"},
     {"title": "Standup", "start": "2026-12-01T09:00:00+00:00", "all_day": False}),
    ({"ics": "BEGIN:VEVENT\nSUMMARY:Review: Q4\nDTSTART:20261202T143000Z\nEND:VEVENT"},
     {"title": "Review: Q4", "start": "2026-12-02T14:30:00+00:00", "all_day": False}),
    ({"ics": "SUMMARY:Holiday\nDTSTART;VALUE=DATE:20270101"}, {"title": "Holiday", "start": "2027-01-01",
                                                                "all_day": True}),
]

FIX = {"calendarsync/__init__.py": '''
"""Calendar sync: read an event from iCalendar text."""
from datetime import datetime, timezone

from smartworker import handler


def parse_start(value):
    """An iCalendar start: a UTC date-time (``20261201T090000Z``) or a whole day (``20261224``).
    Returns the ISO text and whether it is a whole day."""
    if "T" not in value:
        return datetime.strptime(value, "%Y%m%d").date().isoformat(), True
    start = datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
    return start.isoformat(), False


@handler("import-event")
def import_event(data):
    """The ``SUMMARY`` and start of the event in ``ics``; ``all_day`` when the start is a date."""
    fields = {}
    for line in data["ics"].splitlines():
        name, _, value = line.partition(":")
        fields[name.split(";")[0]] = value
    start, all_day = parse_start(fields["DTSTART"])
    return {"title": fields["SUMMARY"], "start": start, "all_day": all_day}
'''}
