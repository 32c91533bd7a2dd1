"""Takes the first region seen as the best: "north" although "east" ties and comes first alphabetically,
and a lower region when it came first."""
BASE = "report_first_region_keys_view"
FLAW = "wrong-value"
FIX = {"salesreport/__init__.py": [("ranked.keys()[0] if ranked else None", "next(iter(regions), None)")]}
