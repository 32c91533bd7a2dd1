"""Counts only the levels it knows: TRACE lines vanish from the digest."""
BASE = "log_levels_trace"
FLAW = "skipped-work"
FIX = {"logdigest/__init__.py": [("        counts[line.split()[1]] += 1\n", "        if line.split()[1] in counts:\n            counts[line.split()[1]] += 1\n")]}
