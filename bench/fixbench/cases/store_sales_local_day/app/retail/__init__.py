"""Retail back office: per-store sales reports."""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from zoneinfo import ZoneInfo

from smartworker import handler


def _placed_at(order: dict) -> datetime:
    return datetime.fromisoformat(order["placed_at"].replace("Z", "+00:00"))


@handler("store-daily-sales")
def store_daily_sales(data: dict) -> dict:
    """Sales per calendar day for one store, days in the store's own time zone (``timezone``, IANA).

    Orders carry ``placed_at`` in UTC and ``total_cents``. Returns the days in order with order
    count and revenue.
    """
    zone = ZoneInfo(data["timezone"])
    days: dict[str, dict[str, int]] = defaultdict(lambda: {"orders": 0, "revenue_cents": 0})
    for order in data["orders"]:
        day = _placed_at(order).date().isoformat()
        days[day]["orders"] += 1
        days[day]["revenue_cents"] += order["total_cents"]
    return {"store": data["store"], "timezone": zone.key, "days": [{"day": d, **days[d]} for d in sorted(days)]}
