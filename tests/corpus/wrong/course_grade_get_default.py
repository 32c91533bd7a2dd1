"""``scores.get(name, 0)`` handles a missing component but not one sent as null: None * weight raises."""
BASE = "course_grade_missing_component"
FLAW = "half-null"
FIX = {"grading/__init__.py": [("WEIGHTS[name] * scores[name]", "WEIGHTS[name] * scores.get(name, 0)")]}
