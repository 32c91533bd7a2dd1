"""Sign-up: usernames were checked with ``name.encode("ascii")``, so "José" raises
UnicodeEncodeError. Non-ASCII names are allowed; the fix drops the ASCII encode and compares names in
NFKC case-folded form, so "JOSÉ" and "José" are the same user."""

KIND = "encoding"
STYLES = ("drops-call", "small-edit")
HANDLER = "check-username"

APP = {"signup/__init__.py": '''
"""Sign-up: whether a wanted username is free."""
from smartworker import handler


def canonical(name):
    return name.strip().encode("ascii").decode().lower()


@handler("check-username")
def check_username(data):
    """Whether ``wanted`` is free among ``taken``; names compare without regard to case."""
    wanted = canonical(data["wanted"])
    taken = {canonical(name) for name in data["taken"]}
    return {"username": wanted, "free": wanted not in taken}
'''}

FAILING = {"wanted": "José", "taken": ["JOSÉ", "ana"]}
ERROR = "UnicodeEncodeError"
EXPECTED = {"username": "josé", "free": False}

HISTORY = [
    {"wanted": "Bob ", "taken": ["alice", "BOB"]},
    {"wanted": "carol", "taken": []},
]

ACCEPTANCE = [
    ({"wanted": "Bob ", "taken": ["alice", "BOB"]}, {"username": "bob", "free": False}),
    ({"wanted": "Straße", "taken": ["STRASSE"]}, {"username": "strasse", "free": False}),
    ({"wanted": "Zoë", "taken": ["zoe"]}, {"username": "zoë", "free": True}),
]

FIX = {"signup/__init__.py": [(
    '''def canonical(name):
    return name.strip().encode("ascii").decode().lower()
''',
    '''def canonical(name):
    # NFKC first: a composed and a decomposed "é" are the same name.
    return unicodedata.normalize("NFKC", name.strip()).casefold()
'''), ("from smartworker import handler\n", "import unicodedata\n\nfrom smartworker import handler\n")]}
