"""Reports a 0 % change when last week had no orders: a made-up comparison instead of none."""
BASE = "kpi_week_change"
FLAW = "hiding-default"
FIX = {"kpi/__init__.py": [('/ data["last_week"] * 100', '/ (data["last_week"] or 1) * 100 if data["last_week"] else 0')]}
