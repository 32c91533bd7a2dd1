"""Warehouse replenishment."""
from smartworker import handler


@handler("restock-order")
def restock_order(data: dict) -> dict:
    """Purchase-order lines for SKUs whose stock is below their reorder point.

    ``stock`` maps SKU to units on hand; ``reorder`` maps SKU to ``{"point", "batch"}``. Order
    whole batches: enough to bring the stock above the point. SKUs without a rule are skipped.
    """
    lines = []
    for sku, on_hand in data["stock"]:
        rule = data["reorder"].get(sku)
        if rule is None or on_hand >= rule["point"]:
            continue
        batches = (rule["point"] - on_hand) // rule["batch"] + 1
        lines.append({"sku": sku, "quantity": batches * rule["batch"]})
    return {"supplier": data["supplier"], "lines": sorted(lines, key=lambda line: line["sku"])}
