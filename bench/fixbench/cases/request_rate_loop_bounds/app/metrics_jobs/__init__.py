"""Service metrics rollups."""
from smartworker import handler


@handler("request-rates")
def request_rates(data: dict) -> dict:
    """Requests per second between consecutive counter samples (2 decimals) and the peak rate.

    ``samples``: ``{"t": seconds, "count": cumulative requests}`` in time order. Fewer than two
    samples give no rates and a peak of 0.0.
    """
    samples = data["samples"]
    rates = []
    for i in range(len(samples)):
        elapsed = samples[i + 1]["t"] - samples[i]["t"]
        rates.append(round((samples[i + 1]["count"] - samples[i]["count"]) / elapsed, 2))
    return {"service": data["service"], "rates": rates, "peak": max(rates, default=0.0)}
