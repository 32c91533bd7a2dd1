"""``encode("latin-1", "replace")``: "Łukasz" becomes "?ukasz"."""
BASE = "mojibake_repair_clean"
FLAW = "lossy-decode"
FIX = {"suppliers/__init__.py": [('data["name"].encode("latin-1").decode("utf-8")', 'data["name"].encode("latin-1", "replace").decode("utf-8", "replace")')]}
