"""Loyalty programme: points for completed orders."""
from smartworker import handler

MULTIPLIERS = {"standard": 1, "silver": 1.5, "gold": 2}


@handler("award-points")
def award_points(data: dict) -> dict:
    """Points for an order: one per whole currency unit of ``order_total``, times the tier's multiplier.

    A customer without a tier (absent or null) is on the "standard" tier; an unknown tier is
    a data error and must fail the job.
    """
    customer = data["customer"]
    tier = customer.get("tier")
    multiplier = MULTIPLIERS.get(tier, 1)
    base = int(data["order_total"])
    return {"customer_id": customer["id"], "tier": tier, "points": int(base * multiplier)}
