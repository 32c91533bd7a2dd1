"""``encode("ascii", "ignore")``: "José" becomes "jos", a different (and possibly someone else's) name."""
BASE = "signup_username_casefold"
FLAW = "lossy-decode"
FIX = {"signup/__init__.py": [('name.strip().encode("ascii").decode().lower()', 'name.strip().encode("ascii", "ignore").decode().lower()')]}
