"""Scheduler: the next run is computed with ``moment.replace(minute=moment.minute + every)``, which
raises ValueError once the sum passes 59. The fix adds a ``timedelta`` (which carries into hours and
days); the replace call goes."""

KIND = "loop-bounds"
STYLES = ("drops-call", "small-edit")
HANDLER = "next-run"

APP = {"scheduler/__init__.py": '''
"""Scheduler: when a recurring task runs next."""
from datetime import datetime

from smartworker import handler


@handler("next-run")
def next_run(data):
    """The run after ``last`` (ISO) for a task repeating every ``every`` minutes."""
    moment = datetime.fromisoformat(data["last"])
    return {"task": data["task"], "next": moment.replace(minute=moment.minute + data["every"]).isoformat()}
'''}

FAILING = {"task": "sync", "last": "2026-12-31T23:50:00+00:00", "every": 15}
ERROR = "ValueError"
EXPECTED = {"task": "sync", "next": "2027-01-01T00:05:00+00:00"}

HISTORY = [{"task": "mail", "last": "2026-12-01T10:00:00", "every": 30}]

ACCEPTANCE = [
    ({"task": "mail", "last": "2026-12-01T10:00:00", "every": 30}, {"task": "mail", "next": "2026-12-01T10:30:00"}),
    ({"task": "big", "last": "2026-12-01T10:00:00", "every": 1440}, {"task": "big", "next": "2026-12-02T10:00:00"}),
    ({"task": "x", "last": "2026-02-28T23:59:00", "every": 1}, {"task": "x", "next": "2026-03-01T00:00:00"}),
]

FIX = {"scheduler/__init__.py": [
    ("from datetime import datetime\n", "from datetime import datetime, timedelta\n"),
    ('moment.replace(minute=moment.minute + data["every"]).isoformat()',
     '(moment + timedelta(minutes=data["every"])).isoformat()'),
]}
