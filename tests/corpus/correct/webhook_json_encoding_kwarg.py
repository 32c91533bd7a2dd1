"""Partner events: ``json.loads(text, encoding="utf-8")`` lost its ``encoding`` argument in Python
3.9 and raises TypeError; only events with an embedded JSON ``payload`` reach it. The fix drops the
argument (text is already decoded)."""

KIND = "api-misuse"
STYLES = ("api-migration", "small-edit")
HANDLER = "partner-event"

APP = {"partners/__init__.py": '''
"""Partners: events a partner posts to us."""
import json

from smartworker import handler


@handler("partner-event")
def partner_event(data):
    """The event's ``type`` and, when it carries a JSON ``payload`` text, the payload's ``id``."""
    payload = json.loads(data["payload"], encoding="utf-8") if data.get("payload") else {}
    return {"type": data["type"], "id": payload.get("id")}
'''}

FAILING = {"type": "order.created", "payload": '{"id": "ord_9", "total": 12}'}
ERROR = "TypeError"
EXPECTED = {"type": "order.created", "id": "ord_9"}

HISTORY = [{"type": "ping"}, {"type": "ping", "payload": ""}]

ACCEPTANCE = [
    ({"type": "ping"}, {"type": "ping", "id": None}),
    ({"type": "order.paid", "payload": '{"id": "ordé"}'}, {"type": "order.paid", "id": "ordé"}),
    ({"type": "x", "payload": "{}"}, {"type": "x", "id": None}),
]

FIX = {"partners/__init__.py": [('json.loads(data["payload"], encoding="utf-8")', 'json.loads(data["payload"])')]}
