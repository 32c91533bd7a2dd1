"""Cuts every timestamp to its first 19 characters, dropping the offset: "11:00+02:00" (09:00 UTC) is read
as 11:00 UTC and counted as a recent failure."""
BASE = "login_lockout_utc"
FLAW = "lossy-decode"
FIX = {"auth/__init__.py": [("datetime.fromisoformat(ts)", "datetime.fromisoformat(ts[:19])")]}
ACCEPTANCE = [({"user": "kim", "at": 1764583200, "failures": ["2025-12-01T11:00:00+02:00"]},
               {"user": "kim", "recent_failures": 0, "locked": False})]
