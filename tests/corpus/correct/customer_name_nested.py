"""Customer sync: the CRM's API v2 sends ``name: {"first": ..., "last": ...}`` instead of
``first_name``/``last_name``, so ``data["first_name"]`` raises KeyError. The fix reads either shape
(queued v1 jobs still arrive)."""

KIND = "json-shape"
STYLES = ("helper-extracted", "guard-clause")
HANDLER = "sync-customer"

APP = {"crmsync/__init__.py": '''
"""CRM sync: the display name and sort key of a customer."""
from smartworker import handler


@handler("sync-customer")
def sync_customer(data):
    """Display name "First Last" and sort key "last, first" (lower case) of the customer."""
    first, last = data["first_name"].strip(), data["last_name"].strip()
    return {"id": data["id"], "display": f"{first} {last}".strip(), "sort_key": f"{last}, {first}".lower()}
'''}

FAILING = {"id": 7, "name": {"first": "Ada", "last": "Lovelace"}}
ERROR = "KeyError"
EXPECTED = {"id": 7, "display": "Ada Lovelace", "sort_key": "lovelace, ada"}

HISTORY = [{"id": 1, "first_name": "Alan ", "last_name": "Turing"}]

ACCEPTANCE = [
    ({"id": 1, "first_name": "Alan ", "last_name": "Turing"}, {"id": 1, "display": "Alan Turing",
                                                              "sort_key": "turing, alan"}),
    ({"id": 2, "name": {"first": "Grace", "last": "Hopper"}}, {"id": 2, "display": "Grace Hopper",
                                                              "sort_key": "hopper, grace"}),
    ({"id": 3, "name": {"first": " Kurt", "last": "Gödel "}}, {"id": 3, "display": "Kurt Gödel",
                                                              "sort_key": "gödel, kurt"}),
]

FIX = {"crmsync/__init__.py": [
    ('first, last = data["first_name"].strip(), data["last_name"].strip()',
     'first, last = (part.strip() for part in name_parts(data))'),
    ("from smartworker import handler\n", '''from smartworker import handler


def name_parts(data):
    """(first, last) from API v2's ``name`` object or v1's ``first_name``/``last_name``."""
    if isinstance(data.get("name"), dict):
        return data["name"]["first"], data["name"]["last"]
    return data["first_name"], data["last_name"]
'''),
]}
