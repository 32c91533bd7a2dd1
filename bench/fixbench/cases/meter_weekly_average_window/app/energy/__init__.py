from smartworker import handler

from .series import rolling_mean

WINDOW_DAYS = 7


@handler("meter-weekly-report")
def meter_weekly_report(data):
    """Weekly consumption figures for one electricity meter.

    ``daily_kwh`` holds one reading per day, oldest first. ``latest_7d_avg`` is the mean of the last 7
    days, ``peak_7d_avg`` the highest mean of any 7 consecutive days (both kWh, 2 decimals); both are
    None while the meter has fewer than 7 days of readings.
    """
    readings = [float(x) for x in data["daily_kwh"]]
    means = rolling_mean(readings, WINDOW_DAYS)
    return {
        "meter": data["meter"],
        "days": len(readings),
        "latest_7d_avg": round(means[-1], 2),
        "peak_7d_avg": round(max(means), 2),
    }
