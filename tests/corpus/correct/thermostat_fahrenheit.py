"""Thermostats: US devices report ``{"value": 71.6, "unit": "F"}`` instead of a number of degrees
Celsius, and ``round()`` of a dict raises TypeError. The docstring says readings are in °C; the fix
converts Fahrenheit (and Kelvin) readings, and plain numbers stay Celsius."""

KIND = "units"
STYLES = ("helper-extracted",)
HANDLER = "room-temperature"

APP = {"thermostat/__init__.py": '''
"""Thermostat: the temperature shown for a room."""
from smartworker import handler


@handler("room-temperature")
def room_temperature(data):
    """The room's ``reading`` in °C, to one decimal, and whether heating should run (below ``target``)."""
    celsius = round(data["reading"], 1)
    return {"room": data["room"], "celsius": celsius, "heat": celsius < data["target"]}
'''}

FAILING = {"room": "office", "reading": {"value": 64.4, "unit": "F"}, "target": 20}
ERROR = "TypeError"
EXPECTED = {"room": "office", "celsius": 18.0, "heat": True}

HISTORY = [{"room": "hall", "reading": 21.04, "target": 20}]

ACCEPTANCE = [
    ({"room": "hall", "reading": 21.04, "target": 20}, {"room": "hall", "celsius": 21.0, "heat": False}),
    ({"room": "lab", "reading": {"value": 293.15, "unit": "K"}, "target": 21}, {"room": "lab", "celsius": 20.0, "heat": True}),
    ({"room": "den", "reading": {"value": 19.5, "unit": "C"}, "target": 19}, {"room": "den", "celsius": 19.5, "heat": False}),
]

FIX = {"thermostat/__init__.py": [
    ('celsius = round(data["reading"], 1)', 'celsius = round(to_celsius(data["reading"]), 1)'),
    ("from smartworker import handler\n", '''from smartworker import handler


def to_celsius(reading):
    """A reading in °C: a number (already °C) or ``{"value", "unit"}`` in C, F or K."""
    if not isinstance(reading, dict):
        return reading
    value, unit = reading["value"], reading["unit"].upper()
    if unit == "F":
        return (value - 32) * 5 / 9
    if unit == "K":
        return value - 273.15
    return value
'''),
]}
