"""``str(data.get("line2", ""))``: an absent second line is left off, but a null one is printed on the
label as "None"."""
BASE = "label_address_line2"
FLAW = "half-null"
FIX = {"labelprint/__init__.py": [('''    return {"lines": [data["name"], data["line1"], data["line2"], f"{data['postcode']} {data['city']}"]}''',
                                   '''    lines = [data["name"], data["line1"], str(data.get("line2", "")), f"{data['postcode']} {data['city']}"]
    return {"lines": [line for line in lines if line]}''')]}
