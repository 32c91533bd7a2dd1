"""Seller payouts."""
from smartworker import handler

from payouts.money import to_cents

FEE_CENTS = 25  # per sale


@handler("seller-payout")
def seller_payout(data: dict) -> dict:
    """A seller's payout in cents: sales minus refunds minus a fixed fee per sale.

    ``sales`` and ``refunds`` are amounts in major units (e.g. euros) as the ledgers export them.
    """
    sales = [to_cents(amount) for amount in data["sales"]]
    refunds = [to_cents(amount) for amount in data.get("refunds", [])]
    payout = sum(sales) - sum(refunds) - FEE_CENTS * len(sales)
    return {"seller_id": data["seller_id"], "gross_cents": sum(sales), "payout_cents": payout}
