"""Reserves drop-shipped lines in a made-up "MAIN" warehouse: a default that hides the missing data."""
BASE = "inventory_dropship_guard"
FLAW = "hiding-default"
FIX = {"inventory/__init__.py": [('site = line["warehouse"].upper()', 'site = (line["warehouse"] or "main").upper()')]}
