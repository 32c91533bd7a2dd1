"""Greenhouse climate: daily temperature summaries from the sensor gateways."""
from datetime import datetime
from zoneinfo import ZoneInfo

from smartworker import handler

SITE_ZONE = ZoneInfo("Europe/Amsterdam")


def local_day(ts):
    """The site's calendar day of a sensor timestamp (Unix time)."""
    if ts > 10**11:  # milliseconds (firmware 2.x): seconds would be past the year 5000
        ts = ts / 1000
    return datetime.fromtimestamp(ts, tz=SITE_ZONE).date().isoformat()


@handler("greenhouse-daily")
def greenhouse_daily(data):
    """Min, max and mean temperature (°C, 1 decimal) per local day for one sensor.

    ``readings`` is a list of ``{"ts": ..., "temp_c": ...}``; gateways on firmware 2.x report ``ts``
    with millisecond precision.
    """
    by_day = {}
    for reading in data["readings"]:
        by_day.setdefault(local_day(reading["ts"]), []).append(float(reading["temp_c"]))
    days = []
    for day in sorted(by_day):
        temps = by_day[day]
        days.append({"day": day, "min": min(temps), "max": max(temps), "mean": round(sum(temps) / len(temps), 1)})
    return {"sensor": data["sensor"], "firmware": data.get("firmware"), "days": days}
