"""Order bookkeeping."""
from smartworker import handler


@handler("order-summary")
def order_summary(data: dict) -> dict:
    """Item count and total in cents (items plus optional shipping) of ``order``, the shop API's order object.

    Orders from before and after the shop's API upgrade are both in the queue.
    """
    order = data["order"]
    count = 0
    total = 0
    line_items = order["line_items"]
    if isinstance(line_items, dict):  # API v3 wraps the list in a page envelope
        line_items = line_items["data"]
    for item in line_items:
        count += item["quantity"]
        total += item["quantity"] * item["unit_price_cents"]
    return {"order_id": order["id"], "items": count, "total_cents": total + order.get("shipping_cents", 0)}
