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
    for item in order["line_items"]:
        count += item["quantity"]
        total += item["quantity"] * item["unit_price_cents"]
    return {"order_id": order["id"], "items": count, "total_cents": total + order.get("shipping_cents", 0)}
