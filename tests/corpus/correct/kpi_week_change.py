"""KPI dashboard: a new shop had no orders last week, and the week-on-week change divides by zero.
The docstring says the change is null when there is nothing to compare with; the fix returns that."""

KIND = "division-by-zero"
STYLES = ("guard-clause", "small-edit")
HANDLER = "week-change"

APP = {"kpi/__init__.py": '''
"""KPI: week-on-week change of a shop's orders."""
from smartworker import handler


@handler("week-change")
def week_change(data):
    """Percent change (one decimal) from ``last_week`` to ``this_week`` orders; null when last week had
    none (there is nothing to compare with)."""
    change = (data["this_week"] - data["last_week"]) / data["last_week"] * 100
    return {"shop": data["shop"], "change_percent": round(change, 1)}
'''}

FAILING = {"shop": "new-shop", "this_week": 12, "last_week": 0}
ERROR = "ZeroDivisionError"
EXPECTED = {"shop": "new-shop", "change_percent": None}

HISTORY = [{"shop": "a", "this_week": 110, "last_week": 100}, {"shop": "b", "this_week": 0, "last_week": 3}]

ACCEPTANCE = [
    ({"shop": "a", "this_week": 110, "last_week": 100}, {"shop": "a", "change_percent": 10.0}),
    ({"shop": "b", "this_week": 0, "last_week": 3}, {"shop": "b", "change_percent": -100.0}),
    ({"shop": "c", "this_week": 0, "last_week": 0}, {"shop": "c", "change_percent": None}),
]

FIX = {"kpi/__init__.py": [(
    '''    change = (data["this_week"] - data["last_week"]) / data["last_week"] * 100
''',
    '''    if not data["last_week"]:
        return {"shop": data["shop"], "change_percent": None}
    change = (data["this_week"] - data["last_week"]) / data["last_week"] * 100
''')]}
