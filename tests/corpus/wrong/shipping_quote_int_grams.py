"""``int(data["grams"])``: the failing job passes, but a weight with a fraction ("19999.5") now raises."""
BASE = "shipping_quote_currency_ignored"
FLAW = "wrong-value"
FIX = {"shipping/__init__.py": [('    grams = data["grams"]\n', '    grams = int(data["grams"])\n')]}
