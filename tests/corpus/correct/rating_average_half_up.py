"""Product ratings: a product with no reviews yet divides by zero. The docstring promises averages
rounded half up to one decimal, but ``round()`` rounds half to even and through binary floats
(4.25 became 4.2); the fix returns null for no reviews and rounds in Decimal, rightly changing some
earlier averages."""

KIND = "division-by-zero"
STYLES = ("guard-clause", "changes-history")
HANDLER = "rating-summary"

APP = {"reviews/__init__.py": '''
"""Reviews: the star rating shown on a product page."""
from smartworker import handler


@handler("rating-summary")
def rating_summary(data):
    """Average of ``stars`` (1-5) rounded half up to one decimal, and how many reviews there are."""
    stars = data["stars"]
    return {"product": data["product"], "average": round(sum(stars) / len(stars), 1), "reviews": len(stars)}
'''}

FAILING = {"product": "kettle", "stars": []}
ERROR = "ZeroDivisionError"
EXPECTED = {"product": "kettle", "average": None, "reviews": 0}

HISTORY = [
    {"product": "lamp", "stars": [5, 4, 4, 4]},
    {"product": "mug", "stars": [3, 4]},
    {"product": "desk", "stars": [5]},
]
HISTORY_WRONG = [0]

ACCEPTANCE = [
    ({"product": "lamp", "stars": [5, 4, 4, 4]}, {"product": "lamp", "average": 4.3, "reviews": 4}),
    ({"product": "mug", "stars": [3, 4]}, {"product": "mug", "average": 3.5, "reviews": 2}),
    ({"product": "pen", "stars": [1, 2, 2]}, {"product": "pen", "average": 1.7, "reviews": 3}),
]

FIX = {"reviews/__init__.py": '''
"""Reviews: the star rating shown on a product page."""
from decimal import ROUND_HALF_UP, Decimal

from smartworker import handler


@handler("rating-summary")
def rating_summary(data):
    """Average of ``stars`` (1-5) rounded half up to one decimal, and how many reviews there are."""
    stars = data["stars"]
    if not stars:
        return {"product": data["product"], "average": None, "reviews": 0}
    average = (Decimal(sum(stars)) / len(stars)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return {"product": data["product"], "average": float(average), "reviews": len(stars)}
'''}
