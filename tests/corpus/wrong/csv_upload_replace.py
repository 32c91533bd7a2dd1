"""``raw.decode("utf-8", errors="replace")``: a UTF-16 file turns into replacement characters and NULs."""
BASE = "csv_upload_utf16"
FLAW = "lossy-decode"
FIX = {"pricelist/__init__.py": [('raw.decode("utf-8")', 'raw.decode("utf-8", errors="replace")')]}
