"""Fax-to-mail gateway: ``base64.decodestring`` was removed in Python 3.9, and only base64-encoded
pages reach it (AttributeError). The fix uses ``base64.decodebytes``, its documented successor."""

KIND = "api-misuse"
STYLES = ("api-migration", "small-edit")
HANDLER = "fax-pages"

APP = {"faxgateway/__init__.py": '''
"""Fax gateway: page sizes of a received fax."""
import base64

from smartworker import handler


@handler("fax-pages")
def fax_pages(data):
    """Size in bytes of each of ``pages``: raw text, or base64 when ``encoding`` is "base64"."""
    sizes = []
    for page in data["pages"]:
        if data.get("encoding") == "base64":
            sizes.append(len(base64.decodestring(page.encode("ascii"))))
        else:
            sizes.append(len(page.encode("utf-8")))
    return {"fax": data["fax"], "sizes": sizes}
'''}

FAILING = {"fax": "f-2", "encoding": "base64", "pages": ["aGVsbG8=", "d29ybGQhIQ=="]}
ERROR = "AttributeError"
EXPECTED = {"fax": "f-2", "sizes": [5, 7]}

HISTORY = [{"fax": "f-1", "pages": ["abc", "dé"]}]

ACCEPTANCE = [
    ({"fax": "f-1", "pages": ["abc", "dé"]}, {"fax": "f-1", "sizes": [3, 3]}),
    ({"fax": "f-3", "encoding": "base64", "pages": ["AAEC\nAwQF\n"]}, {"fax": "f-3", "sizes": [6]}),
    ({"fax": "f-4", "encoding": "base64", "pages": []}, {"fax": "f-4", "sizes": []}),
]

FIX = {"faxgateway/__init__.py": [("base64.decodestring(", "base64.decodebytes(")]}
