"""Front desk: pricing a stay from the channel manager's nightly rate calendar."""
from datetime import date, timedelta
from decimal import Decimal

from smartworker import handler

CITY_TAX_PER_NIGHT = Decimal("3.50")


def nights(check_in: date, check_out: date) -> list[date]:
    """The nights of a stay: check-in up to, not including, check-out."""
    return [check_in + timedelta(days=i) for i in range((check_out - check_in).days + 1)]


@handler("price-stay")
def price_stay(data):
    """Room charge (the calendar's rate for each night), city tax per night, and total."""
    check_in = date.fromisoformat(data["check_in"])
    check_out = date.fromisoformat(data["check_out"])
    calendar = data["rates"]  # ISO date -> rate for that night
    stay = nights(check_in, check_out)
    room = sum((Decimal(calendar[night.isoformat()]) for night in stay), Decimal("0"))
    tax = CITY_TAX_PER_NIGHT * len(stay)
    return {"booking": data["booking"], "nights": len(stay), "room": str(room), "city_tax": str(tax),
            "total": str(room + tax)}
