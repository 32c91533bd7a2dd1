"""Payroll: hours worked from clock-in/clock-out events."""
from datetime import datetime, timedelta, timezone

from smartworker import handler


def _parse(stamp: str, site_tz: timezone) -> datetime:
    """Parse an ISO timestamp; one without an offset is in the site's timezone."""
    parsed = datetime.fromisoformat(stamp)
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=site_tz)


@handler("shift-hours")
def shift_hours(data: dict) -> dict:
    """Hours per shift (2 decimals) and in total for one employee.

    ``utc_offset_hours`` is the site's offset from UTC (default 0).
    """
    site_tz = timezone(timedelta(hours=data.get("utc_offset_hours", 0)))
    hours = []
    for shift in data["shifts"]:
        start = _parse(shift["clock_in"], site_tz)
        end = _parse(shift["clock_out"], site_tz)
        hours.append(round((end - start).total_seconds() / 3600, 2))
    return {"employee": data["employee"], "shifts": hours, "total_hours": round(sum(hours), 2)}
