"""FeedSync: imports supplier product feeds into the marketplace catalogue."""
import logging

from smartworker import handler

from .shipping import shipping_class

log = logging.getLogger(__name__)


def parse_weight_kg(value, sku):
    """The product's weight in kg, or None when the supplier's value is not a number."""
    try:
        return float(value)
    except ValueError:
        log.warning("sku %s: unreadable weight %r", sku, value)
        return None


@handler("import-feed")
def import_feed(data):
    """Catalogue rows for a supplier feed: SKU, title, weight and shipping class.

    Products whose weight cannot be read get the shipping class "manual" (a person decides).
    """
    rows = []
    for item in data["items"]:
        weight = parse_weight_kg(item.get("weight_kg"), item["sku"])
        rows.append({"sku": item["sku"], "title": item["title"].strip(), "weight_kg": weight,
                     "shipping": shipping_class(weight)})
    return {"supplier": data["supplier"], "rows": rows, "manual": sum(r["shipping"] == "manual" for r in rows)}
