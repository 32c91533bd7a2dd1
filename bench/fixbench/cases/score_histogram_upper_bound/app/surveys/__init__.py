"""Survey analytics."""
from smartworker import handler


@handler("score-histogram")
def score_histogram(data: dict) -> dict:
    """Histogram of scores (integers 0-100) in ten buckets: 0-9, 10-19, ..., 90-100.

    The last bucket includes 100. A score outside 0-100 is a data error and fails the job.
    """
    buckets = [0] * 10
    for score in data["scores"]:
        if not 0 <= score <= 100:
            raise ValueError(f"score out of range: {score}")
        buckets[score // 10] += 1
    return {"survey": data["survey"], "buckets": buckets, "count": len(data["scores"])}
