"""Reads the first ten characters of ``at`` and keeps ``days // 365``: the crash stops, earlier answers are
unchanged, and members are still a year older just before their birthday."""
BASE = "member_age_birthday"
FLAW = "wrong-value"
FIX = {"membership/__init__.py": [('at = date.fromisoformat(data["at"])', 'at = date.fromisoformat(data["at"][:10])')]}
