"""Wholesale portal: quotes for trade customers."""
from decimal import Decimal

from smartworker import handler

from .tiers import unit_price


@handler("wholesale-quote")
def wholesale_quote(data: dict) -> dict:
    """Quote one order line: the unit price of the largest tier the quantity reaches, times the quantity.

    Customers with negotiated prices send their own ``tiers`` (minimum quantity -> unit price); the
    others get the list price tiers.
    """
    qty = int(data["quantity"])
    price = unit_price(data.get("tiers"), qty)
    return {"sku": data["sku"], "quantity": qty, "unit_price": str(price), "line_total": str(price * qty)}
