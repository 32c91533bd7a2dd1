"""Parcel labels: the warehouse now sends weights with a unit ("1.2 kg", "800 g"); ``units.grams``
does ``float(value)`` and raises ValueError. The fix spans two modules: ``units`` learns to read a
unit (numbers are still grams), and the label module asks for kilograms through the new helper
instead of dividing itself."""

KIND = "multi-file"
STYLES = ("multi-file", "helper-extracted")
HANDLER = "parcel-label"

APP = {
    "labels/__init__.py": '''
"""Labels: the weight line printed on a parcel label."""
from smartworker import handler

from .units import grams


@handler("parcel-label")
def parcel_label(data):
    """The label line for ``parcel`` weighing ``weight`` (grams, or a number with a unit)."""
    kilos = grams(data["weight"]) / 1000
    return {"parcel": data["parcel"], "weight_line": f"{kilos:.2f} kg", "heavy": kilos > 20}
''',
    "labels/units.py": '''
"""Weights as the warehouse sends them."""


def grams(value):
    """A weight in grams."""
    return float(value)
''',
}

FAILING = {"parcel": "P-3", "weight": "1.2 kg"}
ERROR = "ValueError"
EXPECTED = {"parcel": "P-3", "weight_line": "1.20 kg", "heavy": False}

HISTORY = [{"parcel": "P-1", "weight": 800}, {"parcel": "P-2", "weight": "25000"}]

ACCEPTANCE = [
    ({"parcel": "P-1", "weight": 800}, {"parcel": "P-1", "weight_line": "0.80 kg", "heavy": False}),
    ({"parcel": "P-4", "weight": "800 g"}, {"parcel": "P-4", "weight_line": "0.80 kg", "heavy": False}),
    ({"parcel": "P-5", "weight": "21KG"}, {"parcel": "P-5", "weight_line": "21.00 kg", "heavy": True}),
]
REJECTS = [({"parcel": "P-6", "weight": "3 lb"}, "ValueError")]

FIX = {
    "labels/__init__.py": [("from .units import grams", "from .units import kilograms"),
                           ('grams(data["weight"]) / 1000', 'kilograms(data["weight"])')],
    "labels/units.py": '''
"""Weights as the warehouse sends them."""
import re

_FACTORS = {"g": 1.0, "kg": 1000.0}


def grams(value):
    """A weight in grams: a number (grams) or text with an optional unit, "800", "800 g", "1.2 kg"."""
    if isinstance(value, (int, float)):
        return float(value)
    match = re.fullmatch(r"\\s*([0-9]+(?:\\.[0-9]+)?)\\s*([A-Za-z]*)\\s*", value)
    unit = match.group(2).lower() if match else None
    if unit not in ("", *_FACTORS):
        raise ValueError(f"not a weight: {value!r}")
    return float(match.group(1)) * _FACTORS.get(unit, 1.0)


def kilograms(value):
    """A weight in kilograms."""
    return grams(value) / 1000
''',
}
