"""Catches only the not-found error: a malformed zone name ("../etc") now raises ValueError again."""
BASE = "meeting_unknown_timezone"
FLAW = "wrong-value"
FIX = {"meetings/__init__.py": [("    except ValueError:\n", "    except KeyError:\n")]}
