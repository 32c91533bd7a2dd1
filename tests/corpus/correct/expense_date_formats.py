"""Expense receipts: the date parser tries several formats, but catches TypeError around
``strptime``, which raises ValueError when a format does not match; a receipt in the second format
("07.12.2026") fails. The fix catches the exception ``strptime`` raises."""

KIND = "exception-handling"
STYLES = ("right-exception", "small-edit")
HANDLER = "receipt-date"

APP = {"expenses/__init__.py": '''
"""Expenses: the date on a scanned receipt."""
from datetime import datetime

from smartworker import handler

FORMATS = ("%Y-%m-%d", "%d.%m.%Y", "%m/%d/%Y")


def parse_date(text):
    for fmt in FORMATS:
        try:
            return datetime.strptime(text.strip(), fmt).date()
        except TypeError:
            continue
    return None


@handler("receipt-date")
def receipt_date(data):
    """The receipt's date (ISO) from the OCR'd ``date`` text in any known format; null if none fits."""
    day = parse_date(data["date"])
    return {"receipt": data["receipt"], "date": day.isoformat() if day else None}
'''}

FAILING = {"receipt": "r-3", "date": "07.12.2026"}
ERROR = "ValueError"
EXPECTED = {"receipt": "r-3", "date": "2026-12-07"}

HISTORY = [{"receipt": "r-1", "date": "2026-11-30"}]

ACCEPTANCE = [
    ({"receipt": "r-1", "date": "2026-11-30"}, {"receipt": "r-1", "date": "2026-11-30"}),
    ({"receipt": "r-4", "date": "12/24/2026 "}, {"receipt": "r-4", "date": "2026-12-24"}),
    ({"receipt": "r-5", "date": "yesterday"}, {"receipt": "r-5", "date": None}),
]

FIX = {"expenses/__init__.py": [("        except TypeError:\n", "        except ValueError:  # not this format\n")]}
