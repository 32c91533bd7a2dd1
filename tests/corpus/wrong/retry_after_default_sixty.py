"""Falls back to 60 seconds when the header is not a number: an HTTP date is ignored and the client calls
again too early (or waits too long)."""
BASE = "retry_after_http_date"
FLAW = "swallowed-error"
FIX = {"partnerapi/__init__.py": [("    seconds = 60 if header is None else int(header)\n",
                                   "    try:\n        seconds = 60 if header is None else int(header)\n    except ValueError:\n        seconds = 60\n")]}
