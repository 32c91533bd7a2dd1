"""Skips lines that do not split into two fields: the crash stops, and every contact of a ";" file is
silently left out (imported: 0)."""
BASE = "csv_contacts_semicolon"
FLAW = "skipped-work"
FIX = {"contacts/__init__.py": [("        row = line.split(\",\")\n", "        row = line.split(\",\")\n        if len(row) < 2:\n            continue\n")]}
