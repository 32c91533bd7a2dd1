"""Log digest: a service started logging at ``TRACE``, and ``counts[level] += 1`` on the fixed set of
levels raises KeyError. The fix counts any level; the result gains a ``TRACE`` key no earlier digest
had."""

KIND = "missing-key"
STYLES = ("shape-differs", "small-edit")
HANDLER = "log-digest"

APP = {"logdigest/__init__.py": '''
"""Log digest: lines per level for the hourly report."""
from smartworker import handler


@handler("log-digest")
def log_digest(data):
    """Count the ``lines`` (``<time> <LEVEL> <message>``) per level; the usual levels always appear."""
    counts = {"DEBUG": 0, "INFO": 0, "WARNING": 0, "ERROR": 0}
    for line in data["lines"]:
        counts[line.split()[1]] += 1
    return {"service": data["service"], "counts": counts}
'''}

FAILING = {"service": "api", "lines": ["10:00 INFO up", "10:01 TRACE tick", "10:02 TRACE tick"]}
ERROR = "KeyError"
EXPECTED = {"service": "api", "counts": {"DEBUG": 0, "INFO": 1, "WARNING": 0, "ERROR": 0, "TRACE": 2}}

HISTORY = [{"service": "web", "lines": ["09:00 INFO start", "09:05 ERROR boom"]}, {"service": "db", "lines": []}]

ACCEPTANCE = [
    ({"service": "web", "lines": ["09:00 INFO start", "09:05 ERROR boom"]},
     {"service": "web", "counts": {"DEBUG": 0, "INFO": 1, "WARNING": 0, "ERROR": 1}}),
    ({"service": "db", "lines": []}, {"service": "db", "counts": {"DEBUG": 0, "INFO": 0, "WARNING": 0, "ERROR": 0}}),
    ({"service": "q", "lines": ["1 CRITICAL x"]},
     {"service": "q", "counts": {"DEBUG": 0, "INFO": 0, "WARNING": 0, "ERROR": 0, "CRITICAL": 1}}),
]

FIX = {"logdigest/__init__.py": [(
    "        counts[line.split()[1]] += 1\n",
    "        level = line.split()[1]\n        counts[level] = counts.get(level, 0) + 1\n",
)]}
