"""Reads "24:00" as "23:59": the crash stops, a shift to midnight loses a minute, and night shifts past
midnight stay negative."""
BASE = "night_shift_hours"
FLAW = "wrong-value"
FIX = {"timesheets/__init__.py": [('end = datetime.strptime(data["end"], "%H:%M")', 'end = datetime.strptime(data["end"].replace("24:00", "23:59"), "%H:%M")')]}
