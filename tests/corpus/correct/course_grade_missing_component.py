"""Course grades: a student who did not hand in the project has no ``project`` score, and
``scores[name]`` raises KeyError. The syllabus (the docstring) says a component not handed in
scores 0; the fix says so in code."""

KIND = "missing-key"
STYLES = ("small-edit",)
HANDLER = "final-grade"

APP = {"grading/__init__.py": '''
"""Grading: a student's final percentage."""
from smartworker import handler

WEIGHTS = {"exam": 50, "project": 30, "quizzes": 20}


@handler("final-grade")
def final_grade(data):
    """Weighted percentage of ``scores`` (0-100 per component); a component not handed in (missing, or
    null) scores 0."""
    scores = data["scores"]
    total = sum(WEIGHTS[name] * scores[name] for name in WEIGHTS) / 100
    return {"student": data["student"], "percent": round(total, 1), "passed": total >= 50}
'''}

FAILING = {"student": "s-3", "scores": {"exam": 80, "quizzes": 90}}
ERROR = "KeyError"
EXPECTED = {"student": "s-3", "percent": 58.0, "passed": True}

HISTORY = [{"student": "s-1", "scores": {"exam": 70, "project": 60, "quizzes": 50}}]

ACCEPTANCE = [
    ({"student": "s-1", "scores": {"exam": 70, "project": 60, "quizzes": 50}},
     {"student": "s-1", "percent": 63.0, "passed": True}),
    ({"student": "s-4", "scores": {}}, {"student": "s-4", "percent": 0.0, "passed": False}),
    ({"student": "s-5", "scores": {"exam": 90}}, {"student": "s-5", "percent": 45.0, "passed": False}),
    ({"student": "s-6", "scores": {"exam": 80, "project": None, "quizzes": 90}},
     {"student": "s-6", "percent": 58.0, "passed": True}),
]

FIX = {"grading/__init__.py": [("WEIGHTS[name] * scores[name]", "WEIGHTS[name] * (scores.get(name) or 0)")]}
