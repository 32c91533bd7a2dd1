"""Marketing reports."""
from smartworker import handler


@handler("campaign-report")
def campaign_report(data: dict) -> dict:
    """Conversion rate per campaign and overall, in percent with 2 decimals, best campaign first.

    Every campaign appears in the report. A rate with no visits behind it is 0.0.
    """
    rows = []
    for campaign in data["campaigns"]:
        rate = round(campaign["conversions"] / campaign["visits"] * 100, 2) if campaign["visits"] else 0.0
        rows.append({"name": campaign["name"], "rate": rate})
    rows.sort(key=lambda row: row["rate"], reverse=True)
    visits = sum(c["visits"] for c in data["campaigns"])
    conversions = sum(c["conversions"] for c in data["campaigns"])
    return {"campaigns": rows, "overall_rate": round(conversions / visits * 100, 2) if visits else 0.0}
