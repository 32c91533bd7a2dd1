"""Newsletter previews: ``HTMLParser().unescape`` was removed in Python 3.9; only subjects with an
entity reach it and raise AttributeError. The fix uses ``html.unescape``, its documented successor."""

KIND = "api-misuse"
STYLES = ("api-migration", "drops-call")
HANDLER = "newsletter-preview"

APP = {"newsletter/__init__.py": '''
"""Newsletter: the preview line of an issue."""
from html.parser import HTMLParser

from smartworker import handler


@handler("newsletter-preview")
def newsletter_preview(data):
    """``subject`` as plain text (HTML entities resolved), cut to ``width`` characters (default 40)."""
    subject = data["subject"]
    if "&" in subject:
        subject = HTMLParser().unescape(subject)
    width = data.get("width", 40)
    return {"preview": subject if len(subject) <= width else subject[: width - 1] + "…"}
'''}

FAILING = {"subject": "Tips &amp; tricks for caf&eacute; owners"}
ERROR = "AttributeError"
EXPECTED = {"preview": "Tips & tricks for café owners"}

HISTORY = [{"subject": "Spring sale"}, {"subject": "A very long subject line that needs to be shortened", "width": 20}]

ACCEPTANCE = [
    ({"subject": "Spring sale"}, {"preview": "Spring sale"}),
    ({"subject": "A very long subject line that needs to be shortened", "width": 20}, {"preview": "A very long subject…"}),
    ({"subject": "&lt;b&gt; bold &#8364;5", "width": 8}, {"preview": "<b> bol…"}),
]

FIX = {"newsletter/__init__.py": [
    ("from html.parser import HTMLParser\n", "import html\n"),
    ("HTMLParser().unescape(subject)", "html.unescape(subject)"),
]}
