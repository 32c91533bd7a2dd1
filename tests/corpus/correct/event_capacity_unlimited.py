"""Event sign-ups: a free event has ``capacity`` null (no limit), and ``len(attendees) >= None``
raises TypeError. The fix treats a missing capacity as unlimited, as the docstring says, with an early
return."""

KIND = "none-optional"
STYLES = ("guard-clause",)
HANDLER = "event-signup"

APP = {"events/__init__.py": '''
"""Events: whether another person can sign up."""
from smartworker import handler


@handler("event-signup")
def event_signup(data):
    """Whether ``person`` can join ``event``: the attendees are fewer than ``capacity`` (null: no
    limit); ``left`` is the places still free (null when unlimited)."""
    taken = len(data["attendees"])
    if taken >= data["capacity"]:
        return {"event": data["event"], "accepted": False, "left": 0}
    return {"event": data["event"], "accepted": True, "left": data["capacity"] - taken - 1}
'''}

FAILING = {"event": "meetup", "person": "li", "attendees": ["a", "b"], "capacity": None}
ERROR = "TypeError"
EXPECTED = {"event": "meetup", "accepted": True, "left": None}

HISTORY = [{"event": "talk", "person": "x", "attendees": ["a"], "capacity": 2},
           {"event": "gig", "person": "y", "attendees": ["a", "b"], "capacity": 2}]

ACCEPTANCE = [
    ({"event": "talk", "person": "x", "attendees": ["a"], "capacity": 2}, {"event": "talk", "accepted": True, "left": 0}),
    ({"event": "gig", "person": "y", "attendees": ["a", "b"], "capacity": 2},
     {"event": "gig", "accepted": False, "left": 0}),
    ({"event": "open", "person": "z", "attendees": []}, {"event": "open", "accepted": True, "left": None}),
]

FIX = {"events/__init__.py": [(
    '''    taken = len(data["attendees"])
''',
    '''    taken = len(data["attendees"])
    if data.get("capacity") is None:
        return {"event": data["event"], "accepted": True, "left": None}
''')]}
