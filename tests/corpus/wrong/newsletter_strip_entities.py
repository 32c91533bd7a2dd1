"""Deletes the entities instead of resolving them: "Tips &amp; tricks" becomes "Tips  tricks"."""
BASE = "newsletter_html_unescape"
FLAW = "lossy-decode"
FIX = {"newsletter/__init__.py": [("HTMLParser().unescape(subject)", "re.sub(r\"&#?\\w+;\", \"\", subject)"),
                                  ("from html.parser import HTMLParser\n", "import re\n")]}
