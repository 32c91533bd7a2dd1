"""PriceWatch: alerts when a watched instrument crosses a threshold."""
import asyncio
from decimal import Decimal

from smartworker import handler

from .quotes import latest_quote


def crossed(watch: dict, price: Decimal) -> bool:
    limit = Decimal(str(watch["price"]))
    return price >= limit if watch["when"] == "above" else price <= limit


@handler("check-price-alerts")
async def check_price_alerts(data: dict) -> dict:
    """Check every watch of a user against the latest quotes (fetched concurrently).

    A symbol the quote service does not know is listed in ``unknown``, not an error: one stale
    watch must not block the user's other alerts.
    """
    watches = data["watches"]
    quotes = await asyncio.gather(*(latest_quote(w["symbol"]) for w in watches), return_exceptions=True)
    triggered, unknown = [], []
    for watch, quote in zip(watches, quotes):
        price = Decimal(quote["last"])
        if crossed(watch, price):
            triggered.append({"symbol": watch["symbol"], "when": watch["when"], "price": str(price)})
    return {"user": data["user"], "triggered": triggered, "unknown": unknown}
