"""User import: rows exported from the old forum can have ``email`` null, and ``.lower()`` raises
AttributeError. The docstring says such rows are reported, not imported; the fix does that. It also
documents ``legacy_id`` as carried by old exports and ignored (accounts get new ids), and the code
rightly never reads it."""

KIND = "none-optional"
STYLES = ("guard-clause", "docstring-ignored-key")
HANDLER = "import-user"

APP = {"forumimport/__init__.py": '''
"""Forum import: create an account from an exported user row."""
from smartworker import handler


@handler("import-user")
def import_user(data):
    """Create the account for ``email`` with ``display_name``. A row without an e-mail is reported as
    ``missing_email`` and not imported. ``legacy_id`` (old exports carry it) is ignored: accounts get
    new ids."""
    email = data["email"].strip().lower()
    return {"status": "imported", "email": email, "display_name": data["display_name"].strip()}
'''}

FAILING = {"legacy_id": 4411, "email": None, "display_name": "ghost"}
ERROR = "AttributeError"
EXPECTED = {"status": "missing_email", "email": None, "display_name": "ghost"}

HISTORY = [{"legacy_id": 17, "email": "Ann@Example.com ", "display_name": " ann"}]

ACCEPTANCE = [
    ({"legacy_id": 17, "email": "Ann@Example.com ", "display_name": " ann"},
     {"status": "imported", "email": "ann@example.com", "display_name": "ann"}),
    ({"email": "   ", "display_name": "blank"}, {"status": "missing_email", "email": None, "display_name": "blank"}),
    ({"email": "x@y.z", "display_name": "x"}, {"status": "imported", "email": "x@y.z", "display_name": "x"}),
]

FIX = {"forumimport/__init__.py": [(
    '''    email = data["email"].strip().lower()
''',
    '''    email = (data["email"] or "").strip().lower()
    if not email:
        return {"status": "missing_email", "email": None, "display_name": data["display_name"].strip()}
''')]}
