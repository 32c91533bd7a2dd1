"""Parcel lockers: door events from the locker banks.

Banks on firmware 3 send JSON; older banks send ``key=value;key=value`` text. Both arrive in the
same queue as ``payload``.
"""
import json

from smartworker import handler

DOOR_STATES = {"open", "closed", "jammed"}


def _legacy(payload):
    fields = dict(part.split("=", 1) for part in payload.strip().split(";") if part)
    return {"bank": fields["bank"], "door": int(fields["door"]), "state": fields["state"].lower()}


def decode(payload):
    try:
        return json.loads(payload)
    except json.JSONDecodeError:  # not JSON: an older bank's key=value text
        return _legacy(payload)


@handler("locker-door-event")
def locker_door_event(data):
    """Record a door event; a jammed door opens a maintenance ticket, an unknown state is flagged."""
    event = decode(data["payload"])
    state = event.get("state", "unknown")
    return {
        "bank": event.get("bank"),
        "door": event.get("door"),
        "state": state if state in DOOR_STATES else "unknown",
        "maintenance": state == "jammed",
        "received_at": data["received_at"],
    }
