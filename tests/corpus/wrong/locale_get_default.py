"""``data.get("locale", "en")``: a missing locale is English, a null one still raises on ``None.split``."""
BASE = "profile_locale_default"
FLAW = "half-null"
FIX = {"profilepage/__init__.py": [('language = data["locale"].split("_")[0]', 'language = data.get("locale", "en").split("_")[0]')]}
