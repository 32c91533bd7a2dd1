"""Truncates to int and keeps ``MM:SS``: an hour-long video shows "64:59"."""
BASE = "video_duration_hours"
FLAW = "wrong-value"
FIX = {"videos/__init__.py": [('divmod(data["seconds"], 60)', 'divmod(int(data["seconds"]), 60)')]}
