"""Lettings: monthly and yearly rent statements for tenants."""
from datetime import date
from decimal import Decimal

from smartworker import handler

MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December"]
LATE_FEE = Decimal("0.05")


def _title(period: str) -> str:
    # A period is "YYYY-MM" for a monthly statement or "YYYY" for a yearly one.
    if "-" not in period:
        return f"Rent statement {period}"
    year, month = period.split("-")
    return f"Rent for {MONTHS[int(month) - 1]} {year}"


@handler("rent-statement")
def rent_statement(data: dict) -> dict:
    """A tenant's statement for ``period``: title, rent due, and a 5 % late fee when ``paid_on`` is after ``due_on``."""
    rent = Decimal(data["rent"])
    due_on = date.fromisoformat(data["due_on"])
    paid_on = date.fromisoformat(data["paid_on"]) if data.get("paid_on") else None
    late = paid_on is not None and paid_on > due_on
    fee = (rent * LATE_FEE).quantize(Decimal("0.01")) if late else Decimal("0.00")
    return {
        "tenant": data["tenant"],
        "title": _title(data["period"]),
        "rent": str(rent),
        "late_fee": str(fee),
        "total": str(rent + fee),
    }
