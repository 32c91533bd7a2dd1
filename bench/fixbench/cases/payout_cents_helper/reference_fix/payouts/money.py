"""Money parsing shared by the payout and refund jobs."""
from decimal import ROUND_HALF_UP, Decimal


def _parse_decimal(text):
    """Parse an amount such as "1,234.50" (thousands separators allowed)."""
    return Decimal(str(text).replace(",", "").strip())


def to_cents(amount):
    """An amount in major units as integer cents, rounded half up."""
    value = _parse_decimal(amount)
    return int((value * 100).quantize(Decimal("1"), rounding=ROUND_HALF_UP))
