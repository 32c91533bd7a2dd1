"""Analytics events: timestamps were parsed with ``strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ")``, and events
from the new SDK have no fraction of a second ("...:05Z"), which raises ValueError. The fix parses with
``datetime.fromisoformat`` (Python 3.11 reads "Z" and optional fractions); the strptime call goes."""

KIND = "parse-format"
STYLES = ("api-migration", "drops-call")
HANDLER = "session-length"

APP = {"analytics/__init__.py": '''
"""Analytics: how long a visitor's session lasted."""
from datetime import datetime

from smartworker import handler


@handler("session-length")
def session_length(data):
    """Seconds from the first to the last of ``events`` (``ts`` ISO UTC), whole seconds, and the count."""
    times = [datetime.strptime(event["ts"], "%Y-%m-%dT%H:%M:%S.%fZ") for event in data["events"]]
    return {"session": data["session"], "seconds": int((max(times) - min(times)).total_seconds()),
            "events": len(times)}
'''}

FAILING = {"session": "s-8", "events": [{"ts": "2026-12-06T10:00:05Z"}, {"ts": "2026-12-06T10:02:00.500Z"}]}
ERROR = "ValueError"
EXPECTED = {"session": "s-8", "seconds": 115, "events": 2}

HISTORY = [{"session": "s-1", "events": [{"ts": "2026-12-01T08:00:00.000Z"}, {"ts": "2026-12-01T08:00:30.900Z"}]}]

ACCEPTANCE = [
    ({"session": "s-1", "events": [{"ts": "2026-12-01T08:00:00.000Z"}, {"ts": "2026-12-01T08:00:30.900Z"}]},
     {"session": "s-1", "seconds": 30, "events": 2}),
    ({"session": "s-2", "events": [{"ts": "2026-12-01T08:00:00Z"}]}, {"session": "s-2", "seconds": 0, "events": 1}),
    ({"session": "s-3", "events": [{"ts": "2026-12-01T23:59:59Z"}, {"ts": "2026-12-02T00:00:01.000Z"}]},
     {"session": "s-3", "seconds": 2, "events": 2}),
]

FIX = {"analytics/__init__.py": [(
    'datetime.strptime(event["ts"], "%Y-%m-%dT%H:%M:%S.%fZ")', 'datetime.fromisoformat(event["ts"])')]}
