"""Circulation desk: overdue notices for the public library."""
from datetime import date

from smartworker import handler

FINE_PER_DAY_CENTS = 25


def fine_cents(due: date, today: date, cap_cents: int) -> int:
    days_late = (today - due).days
    return min(max(days_late, 0) * FINE_PER_DAY_CENTS, cap_cents)


@handler("overdue-notice")
def overdue_notice(data):
    """A patron's overdue loans as of ``today`` with their fines: 25 cents a day after the due date,
    capped at the item's ``replacement_cents``. Loans not yet overdue are left out."""
    today = date.fromisoformat(data["today"])
    lines = []
    for loan in data["loans"]:
        due = date.fromisoformat(loan["due"])
        if due < today:
            lines.append({"barcode": loan["barcode"], "days_late": (today - due).days,
                          "fine_cents": fine_cents(due, today, loan["replacement_cents"])})
    return {"patron": data["patron"], "overdue": lines, "total_cents": sum(line["fine_cents"] for line in lines)}
