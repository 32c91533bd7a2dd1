"""Takes the reading's ``value`` and ignores its unit: 64.4 °F is shown as 64.4 °C."""
BASE = "thermostat_fahrenheit"
FLAW = "wrong-value"
FIX = {"thermostat/__init__.py": [('round(data["reading"], 1)', 'round(data["reading"]["value"] if isinstance(data["reading"], dict) else data["reading"], 1)')]}
