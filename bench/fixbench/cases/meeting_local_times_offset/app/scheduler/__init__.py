"""Team scheduler: shows a proposed meeting time in every attendee's local time."""
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from smartworker import handler

WORK_START, WORK_END = 9, 18


def attendee_zone(tz):
    """An attendee's time zone: an IANA name, or an offset from UTC in hours (5.5 for India)."""
    if isinstance(tz, str):
        return ZoneInfo(tz)
    return timezone(timedelta(hours=tz))


@handler("meeting-local-times")
def meeting_local_times(data):
    """For a meeting at ``starts_at`` (ISO, with offset): each attendee's local day and time, and
    whether it falls in their working hours (weekdays, 09:00 to 18:00)."""
    starts = datetime.fromisoformat(data["starts_at"])
    rows = []
    for person in data["attendees"]:
        local = starts.astimezone(attendee_zone(person["tz"]))
        rows.append({
            "name": person["name"],
            "local": local.strftime("%a %H:%M"),
            "working_hours": local.weekday() < 5 and WORK_START <= local.hour < WORK_END,
        })
    return {"meeting": data["meeting"], "attendees": rows, "all_in_hours": all(r["working_hours"] for r in rows)}
