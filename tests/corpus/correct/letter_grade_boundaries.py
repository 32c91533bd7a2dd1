"""Report cards: a student absent from the exam has ``score`` null, and ``None >= 90`` raises
TypeError; the grading policy (docstring) gives "I" (incomplete). The policy also says "90 and above
is an A", but the code tested ``> 90``, so earlier boundary scores got the grade below: the fix
handles null and uses ``>=``, rightly changing those answers."""

KIND = "off-by-one"
STYLES = ("changes-history", "guard-clause")
HANDLER = "letter-grade"

APP = {"reportcards/__init__.py": '''
"""Report cards: a letter grade from a percentage."""
from smartworker import handler

BANDS = [(90, "A"), (80, "B"), (70, "C"), (60, "D")]


@handler("letter-grade")
def letter_grade(data):
    """A for 90 and above, B for 80 and above, C from 70, D from 60, else F; no score (absent): I."""
    for floor, letter in BANDS:
        if data["score"] > floor:
            return {"student": data["student"], "grade": letter}
    return {"student": data["student"], "grade": "F"}
'''}

FAILING = {"student": "s-7", "score": None}
ERROR = "TypeError"
EXPECTED = {"student": "s-7", "grade": "I"}

HISTORY = [{"student": "s-1", "score": 95}, {"student": "s-2", "score": 80}, {"student": "s-3", "score": 42}]
HISTORY_WRONG = [1]

ACCEPTANCE = [
    ({"student": "s-2", "score": 80}, {"student": "s-2", "grade": "B"}),
    ({"student": "s-4", "score": 59.5}, {"student": "s-4", "grade": "F"}),
    ({"student": "s-5", "score": 90}, {"student": "s-5", "grade": "A"}),
]

FIX = {"reportcards/__init__.py": [(
    '''    for floor, letter in BANDS:
        if data["score"] > floor:''',
    '''    if data["score"] is None:
        return {"student": data["student"], "grade": "I"}
    for floor, letter in BANDS:
        if data["score"] >= floor:''')]}
