"""Activity feed paging: the mobile app strips the ``=`` padding from cursors, and ``b64decode``
raises binascii.Error (a ValueError) for "Incorrect padding". The fix restores the padding before
decoding; padded cursors decode as before."""

KIND = "parse-format"
STYLES = ("small-edit", "helper-extracted")
HANDLER = "feed-page"

APP = {"feed/__init__.py": '''
"""Feed: one page of a user's activity after a cursor."""
import base64
import json

from smartworker import handler


@handler("feed-page")
def feed_page(data):
    """Items of ``items`` after the cursor's ``after`` id (``cursor``: base64 JSON), ``limit`` of them."""
    after = json.loads(base64.urlsafe_b64decode(data["cursor"]))["after"] if data.get("cursor") else 0
    page = [item for item in data["items"] if item > after][: data["limit"]]
    return {"items": page}
'''}

FAILING = {"cursor": "eyJhZnRlciI6IDEwfQ", "items": [9, 11, 12, 13], "limit": 2}
ERROR = "ValueError"
EXPECTED = {"items": [11, 12]}

HISTORY = [{"items": [1, 2, 3], "limit": 2}, {"cursor": "eyJhZnRlciI6IDF9", "items": [1, 2, 3], "limit": 5}]

ACCEPTANCE = [
    ({"items": [1, 2, 3], "limit": 2}, {"items": [1, 2]}),
    ({"cursor": "eyJhZnRlciI6IDF9", "items": [1, 2, 3], "limit": 5}, {"items": [2, 3]}),
    ({"cursor": "eyJhZnRlciI6IDEwMH0", "items": [99, 101], "limit": 1}, {"items": [101]}),
    ({"cursor": "eyJhZnRlciI6Mn0=", "items": [1, 2, 3], "limit": 9}, {"items": [3]}),
]

FIX = {"feed/__init__.py": [
    ('json.loads(base64.urlsafe_b64decode(data["cursor"]))', 'json.loads(decode_cursor(data["cursor"]))'),
    ("from smartworker import handler\n", '''from smartworker import handler


def decode_cursor(cursor):
    """A cursor's bytes; clients may strip base64's "=" padding, which is put back."""
    return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
'''),
]}
