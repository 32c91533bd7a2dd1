"""Import stock counts from the warehouse's nightly CSV."""
import csv
import io

from smartworker import handler


@handler("import-stock-csv")
def import_stock_csv(data: dict) -> dict:
    """Import a CSV with columns sku, quantity, unit_cost.

    Returns the quantity per SKU (rows for the same SKU add up), the number of rows and the
    stock value in cents (quantity times unit cost, per row, rounded).
    """
    quantities = {}
    rows = 0
    value_cents = 0
    for row in csv.DictReader(io.StringIO(data["csv"])):
        sku = row["sku"].strip()
        quantities[sku] = quantities.get(sku, 0) + row["quantity"]
        value_cents += round(row["quantity"] * float(row["unit_cost"]) * 100)
        rows += 1
    return {"skus": quantities, "rows": rows, "value_cents": value_cents}
