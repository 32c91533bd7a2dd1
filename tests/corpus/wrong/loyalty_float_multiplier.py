"""Converts the multiplier with ``float`` and rounds the points to the nearest whole: 19.99 euros at
1x earn 20 points (the rules round down)."""
BASE = "loyalty_points_tiers_module"
FLAW = "wrong-value"
FIX = {"loyalty/tiers.py": [("    return SHEET[tier]", "    return float(SHEET[tier])")],
       "loyalty/__init__.py": [('int(euros * multiplier(data["tier"]))', 'round(euros * multiplier(data["tier"]))')]}
