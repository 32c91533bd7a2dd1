from decimal import Decimal


def parse_amount(text: str) -> Decimal:
    """A German-formatted amount: '.' groups thousands, ',' marks the decimals."""
    text = text.strip()
    # The bank's export puts a debit's minus sign after the number ("250,00-").
    sign = -1 if text.endswith("-") else 1
    return sign * Decimal(text.rstrip("-").replace(".", "").replace(",", "."))
