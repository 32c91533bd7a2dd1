"""Backup rotation: archive names moved from "2026-12-06" to "db-2026-12-06.tar.gz", and
``strptime(name, "%Y-%m-%d")`` raises ValueError. The fix reads the date inside any name with a
regular expression (the old names still match) and keeps the rotation rule."""

KIND = "parse-format"
STYLES = ("helper-extracted", "drops-call")
HANDLER = "rotate-backups"

APP = {"backups/__init__.py": '''
"""Backups: which archives to delete."""
from datetime import datetime

from smartworker import handler


@handler("rotate-backups")
def rotate_backups(data):
    """Keep the newest ``keep`` of ``names`` (dated archives); the rest are deleted (oldest first)."""
    ordered = sorted(data["names"], key=lambda name: datetime.strptime(name, "%Y-%m-%d"))
    return {"delete": ordered[: max(0, len(ordered) - data["keep"])]}
'''}

FAILING = {"names": ["db-2026-12-06.tar.gz", "db-2026-11-30.tar.gz", "db-2026-12-01.tar.gz"], "keep": 2}
ERROR = "ValueError"
EXPECTED = {"delete": ["db-2026-11-30.tar.gz"]}

HISTORY = [{"names": ["2026-10-01", "2026-09-30"], "keep": 1}, {"names": ["2026-10-01"], "keep": 3}]

ACCEPTANCE = [
    ({"names": ["2026-10-01", "2026-09-30"], "keep": 1}, {"delete": ["2026-09-30"]}),
    ({"names": ["2026-10-01"], "keep": 3}, {"delete": []}),
    ({"names": ["x-2026-01-02.gz", "2025-12-31", "y-2026-01-01.gz"], "keep": 1},
     {"delete": ["2025-12-31", "y-2026-01-01.gz"]}),
]

FIX = {"backups/__init__.py": '''
"""Backups: which archives to delete."""
import re
from datetime import date

from smartworker import handler

DATED = re.compile(r"(\\d{4})-(\\d{2})-(\\d{2})")


def archive_date(name):
    """The date in an archive's name ("2026-12-06", "db-2026-12-06.tar.gz")."""
    year, month, day = DATED.search(name).groups()
    return date(int(year), int(month), int(day))


@handler("rotate-backups")
def rotate_backups(data):
    """Keep the newest ``keep`` of ``names`` (dated archives); the rest are deleted (oldest first)."""
    ordered = sorted(data["names"], key=archive_date)
    return {"delete": ordered[: max(0, len(ordered) - data["keep"])]}
'''}
