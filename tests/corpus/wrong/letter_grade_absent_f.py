"""Treats an absent student's null score as 0: an F instead of an incomplete, and ``> 90`` stays."""
BASE = "letter_grade_boundaries"
FLAW = "hiding-default"
FIX = {"reportcards/__init__.py": [('        if data["score"] > floor:', '        if (data["score"] or 0) > floor:')]}
