from decimal import Decimal

#: List price tiers: minimum quantity -> unit price.
LIST_TIERS = {1: Decimal("4.20"), 10: Decimal("3.90"), 50: Decimal("3.50"), 200: Decimal("3.10")}


def unit_price(tiers: dict | None, qty: int) -> Decimal:
    """The unit price for ``qty`` from ``tiers`` (the list tiers when None)."""
    table = tiers or LIST_TIERS
    reached = [minimum for minimum in table if minimum <= qty]
    if not reached:
        raise ValueError(f"quantity {qty} is below the smallest tier")
    return Decimal(table[max(reached)])
