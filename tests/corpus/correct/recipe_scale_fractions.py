"""Recipe scaling: quantities like "1/2" or "1 1/2" make ``float(qty)`` raise ValueError. The fix
reads them with ``fractions.Fraction`` (mixed numbers included) and keeps the output in decimals."""

KIND = "parse-format"
STYLES = ("helper-extracted",)
HANDLER = "scale-recipe"

APP = {"recipes/__init__.py": '''
"""Recipes: ingredient amounts for another number of servings."""
from smartworker import handler


@handler("scale-recipe")
def scale_recipe(data):
    """Each ingredient's ``qty`` times ``servings / serves``, to two decimals."""
    factor = data["servings"] / data["serves"]
    return {"ingredients": {item["name"]: round(float(item["qty"]) * factor, 2) for item in data["ingredients"]}}
'''}

FAILING = {"serves": 4, "servings": 6, "ingredients": [{"name": "flour", "qty": "1 1/2"}, {"name": "salt", "qty": "1/4"}]}
ERROR = "ValueError"
EXPECTED = {"ingredients": {"flour": 2.25, "salt": 0.38}}

HISTORY = [{"serves": 2, "servings": 4, "ingredients": [{"name": "egg", "qty": "2"}, {"name": "milk", "qty": 0.25}]}]

ACCEPTANCE = [
    ({"serves": 2, "servings": 4, "ingredients": [{"name": "egg", "qty": "2"}, {"name": "milk", "qty": 0.25}]},
     {"ingredients": {"egg": 4.0, "milk": 0.5}}),
    ({"serves": 3, "servings": 1, "ingredients": [{"name": "oil", "qty": "3/4"}]}, {"ingredients": {"oil": 0.25}}),
    ({"serves": 1, "servings": 1, "ingredients": []}, {"ingredients": {}}),
]

FIX = {"recipes/__init__.py": [
    ('round(float(item["qty"]) * factor, 2)', 'round(float(amount(item["qty"]) * factor), 2)'),
    ("from smartworker import handler\n", '''from fractions import Fraction

from smartworker import handler


def amount(qty):
    """A quantity as written: 2, 0.25, "2", "1/2" or a mixed number "1 1/2"."""
    if isinstance(qty, (int, float)):
        return Fraction(qty)
    return sum((Fraction(part) for part in str(qty).split()), Fraction(0))
'''),
]}
