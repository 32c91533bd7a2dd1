"""Blog archive headings: ``MONTHS[month]`` with 1-based months raises IndexError for December, and
every earlier heading named the following month ("2026-03" was shown as "April") without failing.
The fix indexes from zero, rightly changing those earlier headings."""

KIND = "off-by-one"
STYLES = ("changes-history", "small-edit")
HANDLER = "archive-heading"

APP = {"blogarchive/__init__.py": '''
"""Blog archive: the heading of a month's posts."""
from smartworker import handler

MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December"]


@handler("archive-heading")
def archive_heading(data):
    """"<Month> <year> (<n> posts)" for ``month`` (``YYYY-MM``) and its ``posts``."""
    year, month = (int(part) for part in data["month"].split("-"))
    return {"heading": f"{MONTHS[month]} {year} ({len(data['posts'])} posts)"}
'''}

FAILING = {"month": "2026-12", "posts": ["a", "b"]}
ERROR = "IndexError"
EXPECTED = {"heading": "December 2026 (2 posts)"}

HISTORY = [{"month": "2026-03", "posts": ["x"]}, {"month": "2026-11", "posts": []}]
HISTORY_WRONG = [0, 1]

ACCEPTANCE = [
    ({"month": "2026-03", "posts": ["x"]}, {"heading": "March 2026 (1 posts)"}),
    ({"month": "2027-01", "posts": []}, {"heading": "January 2027 (0 posts)"}),
    ({"month": "2026-11", "posts": []}, {"heading": "November 2026 (0 posts)"}),
]

FIX = {"blogarchive/__init__.py": [("{MONTHS[month]}", "{MONTHS[month - 1]}")]}
