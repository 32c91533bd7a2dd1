"""Audit log: a record's creation has ``before`` null, and ``before.keys()`` raises AttributeError.
The fix treats a missing ``before`` as an empty record, so every field of a new record is listed as
added (a result whose ``added`` list no earlier entry had filled)."""

KIND = "none-optional"
STYLES = ("guard-clause", "shape-differs")
HANDLER = "audit-entry"

APP = {"auditlog/__init__.py": '''
"""Audit log: what changed in a record."""
from smartworker import handler


@handler("audit-entry")
def audit_entry(data):
    """Fields ``added``, ``removed`` and ``changed`` from ``before`` to ``after`` (sorted names)."""
    before, after = data["before"], data["after"]
    return {
        "record": data["record"],
        "added": sorted(after.keys() - before.keys()),
        "removed": sorted(before.keys() - after.keys()),
        "changed": sorted(key for key in before.keys() & after.keys() if before[key] != after[key]),
    }
'''}

FAILING = {"record": "user:9", "before": None, "after": {"name": "Ada", "role": "admin"}}
ERROR = "AttributeError"
EXPECTED = {"record": "user:9", "added": ["name", "role"], "removed": [], "changed": []}

HISTORY = [{"record": "user:1", "before": {"name": "A", "role": "user"}, "after": {"name": "A", "role": "admin"}}]

ACCEPTANCE = [
    ({"record": "user:1", "before": {"name": "A", "role": "user"}, "after": {"name": "A", "role": "admin"}},
     {"record": "user:1", "added": [], "removed": [], "changed": ["role"]}),
    ({"record": "user:2", "before": {"x": 1}, "after": {"y": 1}},
     {"record": "user:2", "added": ["y"], "removed": ["x"], "changed": []}),
    ({"record": "user:3", "before": None, "after": {}}, {"record": "user:3", "added": [], "removed": [], "changed": []}),
]

FIX = {"auditlog/__init__.py": [('    before, after = data["before"], data["after"]\n',
                                  '    before, after = data["before"] or {}, data["after"]  # no before: just created\n')]}
