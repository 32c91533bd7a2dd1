"""Skips drop-shipped lines: no crash, but the supplier never hears about them (``supplier`` stays empty)."""
BASE = "inventory_dropship_guard"
FLAW = "skipped-work"
FIX = {"inventory/__init__.py": [('        site = line["warehouse"].upper()\n',
                                  '        if line["warehouse"] is None:\n            continue\n        site = line["warehouse"].upper()\n')]}
