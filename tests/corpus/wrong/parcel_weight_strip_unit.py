"""Strips the letters and reads the number as grams: "1.2 kg" becomes 1.2 grams."""
BASE = "parcel_weight_units"
FLAW = "wrong-value"
FIX = {"labels/units.py": [("    return float(value)\n", "    return float(str(value).lower().replace(\"kg\", \"\").replace(\"g\", \"\").strip())\n")]}
