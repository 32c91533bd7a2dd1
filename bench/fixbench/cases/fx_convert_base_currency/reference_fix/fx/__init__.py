"""Multi-currency price lists."""
from decimal import ROUND_HALF_UP, Decimal

from smartworker import handler


@handler("convert-prices")
def convert_prices(data: dict) -> dict:
    """Convert ``prices_cents`` (in the ``base`` currency) into every ``display`` currency.

    ``rates`` gives units of each currency per 1 unit of ``base``. Results are minor units,
    rounded half up. A display currency without a rate is a configuration error and fails the job.
    """
    out = {}
    for currency in data["display"]:
        rate = Decimal(1) if currency == data["base"] else Decimal(data["rates"][currency])
        out[currency] = [
            int((Decimal(price) * rate).quantize(Decimal("1"), rounding=ROUND_HALF_UP))
            for price in data["prices_cents"]
        ]
    return {"base": data["base"], "prices": out}
