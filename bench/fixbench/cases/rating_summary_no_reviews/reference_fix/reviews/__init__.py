"""Product review aggregates for the storefront."""
from smartworker import handler


@handler("rating-summary")
def rating_summary(data: dict) -> dict:
    """Count, average stars (1 decimal) and a per-star histogram of a product's reviews.

    A product without reviews has count 0 and average None.
    """
    stars = [review["stars"] for review in data["reviews"]]
    average = round(sum(stars) / len(stars), 1) if stars else None
    histogram = {str(n): stars.count(n) for n in range(1, 6)}
    return {"product_id": data["product_id"], "count": len(stars), "average": average, "histogram": histogram}
