"""Drops what ASCII cannot hold before counting: an emoji message is counted as plain text, too few
segments (and billed wrongly)."""
BASE = "sms_segments_unicode"
FLAW = "lossy-decode"
FIX = {"sms/__init__.py": [('    text = data["text"]\n    text.encode("ascii")\n', '    text = data["text"].encode("ascii", "ignore").decode("ascii")\n')]}
