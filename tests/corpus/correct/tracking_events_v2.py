"""Parcel tracking: the carrier's API v2 wraps the event list in ``{"items": [...], "next": ...}``;
iterating that dict yields its keys, and ``event["status"]`` on a str raises TypeError. The fix
accepts both shapes."""

KIND = "json-shape"
STYLES = ("guard-clause", "helper-extracted")
HANDLER = "tracking-status"

APP = {"tracking/__init__.py": '''
"""Tracking: a parcel's latest status from the carrier's events."""
from smartworker import handler


@handler("tracking-status")
def tracking_status(data):
    """The latest of ``events`` (each with ``at`` ISO time and ``status``), and whether delivered."""
    events = sorted(data["events"], key=lambda event: event["at"])
    latest = events[-1]["status"] if events else "unknown"
    return {"parcel": data["parcel"], "status": latest, "delivered": latest == "delivered"}
'''}

FAILING = {"parcel": "P9", "events": {"items": [{"at": "2026-12-02T08:00:00Z", "status": "delivered"},
                                                {"at": "2026-12-01T18:00:00Z", "status": "in_transit"}],
                                      "next": None}}
ERROR = "TypeError"
EXPECTED = {"parcel": "P9", "status": "delivered", "delivered": True}

HISTORY = [{"parcel": "P1", "events": [{"at": "2026-11-01T10:00:00Z", "status": "in_transit"}]},
           {"parcel": "P2", "events": []}]

ACCEPTANCE = [
    ({"parcel": "P1", "events": [{"at": "2026-11-01T10:00:00Z", "status": "in_transit"}]},
     {"parcel": "P1", "status": "in_transit", "delivered": False}),
    ({"parcel": "P2", "events": []}, {"parcel": "P2", "status": "unknown", "delivered": False}),
    ({"parcel": "P3", "events": {"items": [], "next": None}}, {"parcel": "P3", "status": "unknown",
                                                              "delivered": False}),
]

FIX = {"tracking/__init__.py": [
    ('sorted(data["events"], key=', 'sorted(event_list(data["events"]), key='),
    ("from smartworker import handler\n", '''from smartworker import handler


def event_list(events):
    """The carrier's events: a list (API v1) or a page ``{"items": [...], "next": ...}`` (API v2)."""
    return events["items"] if isinstance(events, dict) else events
'''),
]}
