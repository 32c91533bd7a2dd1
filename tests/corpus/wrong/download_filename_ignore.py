"""``encode("ascii", "ignore")``: accented letters vanish ("mller-shne-gmbh") instead of losing only their
accents."""
BASE = "download_filename_slug"
FLAW = "lossy-decode"
FIX = {"downloads/__init__.py": [('data["customer"].encode("ascii").decode()', 'data["customer"].encode("ascii", "ignore").decode()')]}
