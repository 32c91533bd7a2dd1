"""Shipping labels."""
from smartworker import handler

from shipping.labels import build_label

MAX_WEIGHT_G = 30_000


@handler("shipping-label")
def shipping_label(data: dict) -> dict:
    """The label for an order; parcels over 30 kg are refused."""
    order = data["order"]
    if order["weight_g"] > MAX_WEIGHT_G:
        raise ValueError(f"order {order['id']} is too heavy for a parcel")
    return build_label(order)
