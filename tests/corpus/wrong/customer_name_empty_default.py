"""``data.get("first_name", "")``: API v2 customers are stored with an empty name."""
BASE = "customer_name_nested"
FLAW = "hiding-default"
FIX = {"crmsync/__init__.py": [('data["first_name"].strip(), data["last_name"].strip()', 'data.get("first_name", "").strip(), data.get("last_name", "").strip()')]}
