"""Converts the epoch seconds and leaves the Sunday test comparing with 7: loans due on a Sunday are still
not moved to Monday."""
BASE = "library_due_date_sunday"
FLAW = "wrong-value"
FIX = {"library/__init__.py": [('date.fromisoformat(data["borrowed"])',
                                '(date.fromtimestamp(data["borrowed"]) if isinstance(data["borrowed"], int) else date.fromisoformat(data["borrowed"]))')]}
