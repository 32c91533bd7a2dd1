"""Falls back to "attachment" when the pattern does not match: every RFC 2231 file name is lost."""
BASE = "attachment_name_rfc2231"
FLAW = "hiding-default"
FIX = {"mailparts/__init__.py": [("    name = match.group(1)\n", "    name = match.group(1) if match else \"attachment\"\n")]}
