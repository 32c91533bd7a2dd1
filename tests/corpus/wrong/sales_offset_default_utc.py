"""``data.get("utc_offset", 0)``: stores that send a zone name are counted in UTC, so an evening order in
Berlin lands on the wrong day."""
BASE = "sales_local_day_zoneinfo"
FLAW = "hiding-default"
FIX = {"storesales/__init__.py": [('timedelta(hours=data["utc_offset"])', 'timedelta(hours=data.get("utc_offset", 0))')]}
