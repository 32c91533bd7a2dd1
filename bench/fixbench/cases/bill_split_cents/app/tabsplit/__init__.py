"""TabSplit: splitting a restaurant bill between the people at the table."""
from smartworker import handler


def to_cents(amount):
    return int(amount * 100)


@handler("split-bill")
def split_bill(data):
    """Split ``total`` (in the currency's units, tip included) evenly between ``people``.

    Shares are whole cents that add up to the total exactly; the first shares take the cents left
    over. A ``tip_percent`` on top is added before splitting, rounded to the cent.
    """
    cents = to_cents(data["total"])
    tip = round(cents * data.get("tip_percent", 0) / 100)
    cents += tip
    people = data["people"]
    base, extra = divmod(cents, people)
    return {
        "table": data["table"],
        "total_cents": cents,
        "tip_cents": tip,
        "shares_cents": [base + 1 if i < extra else base for i in range(people)],
    }
