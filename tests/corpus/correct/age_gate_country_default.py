"""Age gate: ``MINIMUM_AGE[country]`` raises KeyError for a country without its own rule. The policy
(docstring) says such countries use 18; the fix looks the rule up with that default."""

KIND = "missing-key"
STYLES = ("small-edit",)
HANDLER = "age-gate"

APP = {"agegate/__init__.py": '''
"""Age gate: whether a visitor may enter the shop's spirits section."""
from smartworker import handler

MINIMUM_AGE = {"US": 21, "DE": 18, "JP": 20}


@handler("age-gate")
def age_gate(data):
    """Whether ``age`` reaches the minimum age of ``country``; countries without a rule use 18."""
    minimum = MINIMUM_AGE[data["country"].upper()]
    return {"allowed": data["age"] >= minimum, "minimum": minimum}
'''}

FAILING = {"country": "ie", "age": 19}
ERROR = "KeyError"
EXPECTED = {"allowed": True, "minimum": 18}

HISTORY = [{"country": "US", "age": 19}, {"country": "jp", "age": 20}]

ACCEPTANCE = [
    ({"country": "US", "age": 19}, {"allowed": False, "minimum": 21}),
    ({"country": "jp", "age": 20}, {"allowed": True, "minimum": 20}),
    ({"country": "BR", "age": 17}, {"allowed": False, "minimum": 18}),
]

FIX = {"agegate/__init__.py": [('MINIMUM_AGE[data["country"].upper()]', 'MINIMUM_AGE.get(data["country"].upper(), 18)')]}
