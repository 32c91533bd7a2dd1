"""Daily sales by local day: stores moved from a fixed ``utc_offset`` (hours) to an IANA ``tz`` name,
so ``data["utc_offset"]`` raises KeyError. The fix reads the zone with ``zoneinfo`` (which also gets
summer time right) and still takes the fixed offset from stores that send one."""

KIND = "time-zone"
STYLES = ("api-migration", "helper-extracted")
HANDLER = "daily-sales"

APP = {"storesales/__init__.py": '''
"""Store sales: totals per local calendar day."""
from datetime import datetime, timedelta, timezone

from smartworker import handler


@handler("daily-sales")
def daily_sales(data):
    """Sum ``orders`` (``at`` in UTC ISO form, ``cents``) per day in the store's local time."""
    zone = timezone(timedelta(hours=data["utc_offset"]))
    days = {}
    for order in data["orders"]:
        day = datetime.fromisoformat(order["at"]).astimezone(zone).date().isoformat()
        days[day] = days.get(day, 0) + order["cents"]
    return {"store": data["store"], "days": days}
'''}

FAILING = {"store": "muc", "tz": "Europe/Berlin",
           "orders": [{"at": "2026-07-01T22:30:00+00:00", "cents": 500}, {"at": "2026-07-01T12:00:00+00:00",
                                                                         "cents": 250}]}
ERROR = "KeyError"
EXPECTED = {"store": "muc", "days": {"2026-07-02": 500, "2026-07-01": 250}}

HISTORY = [
    {"store": "lis", "utc_offset": 0, "orders": [{"at": "2026-03-01T23:30:00+00:00", "cents": 100}]},
    {"store": "nyc", "utc_offset": -5, "orders": [{"at": "2026-01-05T03:00:00+00:00", "cents": 900},
                                                  {"at": "2026-01-05T06:00:00+00:00", "cents": 100}]},
]

ACCEPTANCE = [
    ({"store": "nyc", "utc_offset": -5, "orders": [{"at": "2026-01-05T03:00:00+00:00", "cents": 900}]},
     {"store": "nyc", "days": {"2026-01-04": 900}}),
    ({"store": "muc", "tz": "Europe/Berlin", "orders": [{"at": "2026-01-10T23:30:00+00:00", "cents": 1}]},
     {"store": "muc", "days": {"2026-01-11": 1}}),
    ({"store": "syd", "tz": "Australia/Sydney", "orders": []}, {"store": "syd", "days": {}}),
]

FIX = {"storesales/__init__.py": '''
"""Store sales: totals per local calendar day."""
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from smartworker import handler


def store_zone(data):
    """The store's zone: its IANA ``tz`` name, or the fixed ``utc_offset`` older stores send."""
    if data.get("tz"):
        return ZoneInfo(data["tz"])
    return timezone(timedelta(hours=data["utc_offset"]))


@handler("daily-sales")
def daily_sales(data):
    """Sum ``orders`` (``at`` in UTC ISO form, ``cents``) per day in the store's local time."""
    zone = store_zone(data)
    days = {}
    for order in data["orders"]:
        day = datetime.fromisoformat(order["at"]).astimezone(zone).date().isoformat()
        days[day] = days.get(day, 0) + order["cents"]
    return {"store": data["store"], "days": days}
'''}
