"""Gradebook: final grades for a course section."""
from smartworker import handler

from .scale import letter
from .weights import component_weights


def weighted_score(scores, weights):
    """The student's final score out of 100 (a missing component counts 0)."""
    return sum(scores.get(name, 0) * weight for name, weight in weights.items())


@handler("final-grades")
def final_grades(data):
    """Final score (1 decimal) and letter grade of every student of a section."""
    weights = component_weights(data["course"])
    grades = []
    for student in data["students"]:
        score = weighted_score(student["scores"], weights)
        grades.append({"student": student["id"], "score": round(score, 1), "letter": letter(score)})
    return {"course": data["course"]["code"], "grades": grades}
