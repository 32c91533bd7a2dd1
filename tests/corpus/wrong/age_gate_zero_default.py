"""``MINIMUM_AGE.get(country, 0)``: countries without a rule let children in."""
BASE = "age_gate_country_default"
FLAW = "hiding-default"
FIX = {"agegate/__init__.py": [('MINIMUM_AGE[data["country"].upper()]', 'MINIMUM_AGE.get(data["country"].upper(), 0)')]}
