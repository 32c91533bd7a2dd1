from decimal import Decimal


def parse_amount(text: str) -> Decimal:
    """A German-formatted amount: '.' groups thousands, ',' marks the decimals."""
    return Decimal(text.strip().replace(".", "").replace(",", "."))
