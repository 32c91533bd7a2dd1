"""Reads a null capacity as 0: a free event without a limit turns everybody away."""
BASE = "event_capacity_unlimited"
FLAW = "hiding-default"
FIX = {"events/__init__.py": [('    taken = len(data["attendees"])\n', '    taken = len(data["attendees"])\n    data["capacity"] = data.get("capacity") or 0\n')]}
