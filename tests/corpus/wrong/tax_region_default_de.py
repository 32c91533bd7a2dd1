"""``data.get("country", "DE")``: every job with the new key is taxed as German."""
BASE = "tax_region_renamed_key"
FLAW = "hiding-default"
FIX = {"vat/__init__.py": [('data["country"].upper()', 'data.get("country", "DE").upper()')]}
