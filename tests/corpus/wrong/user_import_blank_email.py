"""``(data["email"] or "")``: the row is "imported" with an empty address instead of being reported."""
BASE = "user_import_legacy_id"
FLAW = "hiding-default"
FIX = {"forumimport/__init__.py": [('email = data["email"].strip().lower()', 'email = (data["email"] or "").strip().lower()')]}
