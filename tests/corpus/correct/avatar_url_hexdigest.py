"""Avatar URLs: code ported from Python 2 hashes the e-mail as text (``hashlib.md5(str)`` raises
TypeError) and then calls ``.digest().encode("hex")``. The fix is the Python 3 idiom: encode the
address, ``hexdigest()``; both old calls go."""

KIND = "bytes-str"
STYLES = ("api-migration", "drops-call")
HANDLER = "avatar-url"

APP = {"profiles/__init__.py": '''
"""Profiles: the avatar shown next to a user's name."""
import hashlib

from smartworker import handler


@handler("avatar-url")
def avatar_url(data):
    """The avatar URL for ``email`` (trimmed, lower-cased, md5 in hex) at ``size`` pixels (default 80)."""
    digest = hashlib.md5(data["email"].strip().lower()).digest().encode("hex")
    return {"url": f"https://avatars.example.net/{digest}?s={data.get('size', 80)}"}
'''}

FAILING = {"email": " Anna@Example.com ", "size": 120}
ERROR = "TypeError"
EXPECTED = {"url": "https://avatars.example.net/6b56db1f84a3997b902509d3fbf0a306?s=120"}

ACCEPTANCE = [
    ({"email": "bob@example.com"}, {"url": "https://avatars.example.net/4b9bb80620f03eb3719e0a061c14283d?s=80"}),
    ({"email": "BOB@example.com ", "size": 40},
     {"url": "https://avatars.example.net/4b9bb80620f03eb3719e0a061c14283d?s=40"}),
    ({"email": "zoë@example.com"}, {"url": "https://avatars.example.net/0cfaf4857028b01d78c9cfbb57537f7e?s=80"}),
]

FIX = {"profiles/__init__.py": [(
    'hashlib.md5(data["email"].strip().lower()).digest().encode("hex")',
    'hashlib.md5(data["email"].strip().lower().encode("utf-8")).hexdigest()',
)]}
