"""Invoice totals for the billing queue."""
from decimal import ROUND_HALF_UP, Decimal

from smartworker import handler

CENT = Decimal("0.01")


def _money(value) -> Decimal:
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


@handler("invoice-total")
def invoice_total(data: dict) -> dict:
    """Total an invoice.

    ``data``: ``invoice_id``, ``lines`` (each ``quantity`` and ``unit_price``), optional
    ``discount_percent`` (absent or null: no discount) and optional ``tax_percent``.
    Amounts are returned as strings with two decimals.
    """
    subtotal = _money(sum(_money(line["unit_price"]) * line["quantity"] for line in data["lines"]))
    discount = _money(subtotal * Decimal(str(data.get("discount_percent"))) / 100)
    taxable = subtotal - discount
    tax = _money(taxable * Decimal(str(data.get("tax_percent", 0))) / 100)
    return {
        "invoice_id": data["invoice_id"],
        "subtotal": str(subtotal),
        "discount": str(discount),
        "tax": str(tax),
        "total": str(taxable + tax),
    }
