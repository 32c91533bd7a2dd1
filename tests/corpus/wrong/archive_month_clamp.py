"""``MONTHS[min(month, 11)]``: December works, every other heading still names the next month."""
BASE = "archive_month_heading"
FLAW = "wrong-value"
FIX = {"blogarchive/__init__.py": [("{MONTHS[month]}", "{MONTHS[min(month, 11)]}")]}
