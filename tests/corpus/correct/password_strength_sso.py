"""Account security report: accounts that sign in through SSO have ``password`` null, and
``len(None)`` raises TypeError. The fix reports no strength for them (an early return). The
docstring names ``hint`` as sent by old sign-up forms and deliberately ignored (hints are not
stored), so the code rightly does not read it."""

KIND = "none-optional"
STYLES = ("guard-clause", "docstring-ignored-key")
HANDLER = "password-strength"

APP = {"security/__init__.py": '''
"""Security: a rough password strength for the account report."""
from smartworker import handler


@handler("password-strength")
def password_strength(data):
    """Strength of ``password``: "weak" under 10 characters or one kind of character, else "ok".
    ``hint``, which old sign-up forms still send, is ignored: hints are never stored."""
    password = data["password"]
    kinds = sum(any(test(c) for c in password) for test in (str.islower, str.isupper, str.isdigit))
    return {"account": data["account"], "strength": "weak" if len(password) < 10 or kinds < 2 else "ok"}
'''}

FAILING = {"account": "u-9", "password": None, "hint": "my cat"}
ERROR = "TypeError"
EXPECTED = {"account": "u-9", "strength": None}

HISTORY = [{"account": "u-1", "password": "hunter2"}, {"account": "u-2", "password": "CorrectHorse9", "hint": "xkcd"}]

ACCEPTANCE = [
    ({"account": "u-1", "password": "hunter2"}, {"account": "u-1", "strength": "weak"}),
    ({"account": "u-2", "password": "CorrectHorse9", "hint": "xkcd"}, {"account": "u-2", "strength": "ok"}),
    ({"account": "u-3", "password": None}, {"account": "u-3", "strength": None}),
]

FIX = {"security/__init__.py": [(
    '''    password = data["password"]
''',
    '''    password = data["password"]
    if password is None:  # signs in through SSO: there is no password to judge
        return {"account": data["account"], "strength": None}
''')]}
