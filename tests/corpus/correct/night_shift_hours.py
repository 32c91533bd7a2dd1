"""Timesheets: a night shift ending at "24:00" makes ``strptime(.., "%H:%M")`` raise ValueError,
and shifts past midnight ("22:00"-"06:00") came out negative without failing. The fix counts an end
at or before the start as the next day (24:00 as the next midnight), rightly correcting those
earlier night shifts."""

KIND = "time-zone"
STYLES = ("changes-history", "rewrite")
HANDLER = "shift-hours"

APP = {"timesheets/__init__.py": '''
"""Timesheets: hours worked in a shift."""
from datetime import datetime

from smartworker import handler


@handler("shift-hours")
def shift_hours(data):
    """Hours (two decimals) from ``start`` to ``end`` (``HH:MM``) less ``break_minutes``."""
    start = datetime.strptime(data["start"], "%H:%M")
    end = datetime.strptime(data["end"], "%H:%M")
    minutes = (end - start).total_seconds() / 60 - data.get("break_minutes", 0)
    return {"employee": data["employee"], "hours": round(minutes / 60, 2)}
'''}

FAILING = {"employee": "n-2", "start": "16:00", "end": "24:00", "break_minutes": 30}
ERROR = "ValueError"
EXPECTED = {"employee": "n-2", "hours": 7.5}

HISTORY = [{"employee": "d-1", "start": "08:00", "end": "16:30", "break_minutes": 30},
           {"employee": "n-1", "start": "22:00", "end": "06:00"}]
HISTORY_WRONG = [1]

ACCEPTANCE = [
    ({"employee": "d-1", "start": "08:00", "end": "16:30", "break_minutes": 30}, {"employee": "d-1", "hours": 8.0}),
    ({"employee": "n-1", "start": "22:00", "end": "06:00"}, {"employee": "n-1", "hours": 8.0}),
    ({"employee": "n-3", "start": "23:15", "end": "00:00"}, {"employee": "n-3", "hours": 0.75}),
]

FIX = {"timesheets/__init__.py": '''
"""Timesheets: hours worked in a shift."""
from smartworker import handler


def minutes_of_day(text):
    """Minutes since midnight of ``HH:MM``; "24:00" is the end of the day."""
    hours, minutes = (int(part) for part in text.split(":"))
    return hours * 60 + minutes


@handler("shift-hours")
def shift_hours(data):
    """Hours (two decimals) from ``start`` to ``end`` (``HH:MM``) less ``break_minutes``."""
    start, end = minutes_of_day(data["start"]), minutes_of_day(data["end"])
    if end <= start:  # the shift ends the next day
        end += 24 * 60
    minutes = end - start - data.get("break_minutes", 0)
    return {"employee": data["employee"], "hours": round(minutes / 60, 2)}
'''}
