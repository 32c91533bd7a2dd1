"""Competitor price monitoring."""
from smartworker import handler


@handler("price-stats")
def price_stats(data: dict) -> dict:
    """Min, max and median of a SKU's competitor prices (integer cents, at least one).

    For an even count the median is the mean of the two middle prices, rounded down to a cent.
    """
    prices = sorted(data["prices"])
    n = len(prices)
    if n % 2:
        median = prices[n / 2]
    else:
        median = (prices[n / 2 - 1] + prices[n / 2]) // 2
    return {"sku": data["sku"], "min": prices[0], "max": prices[-1], "median": median}
