"""Outgoing webhooks: tenants added after the move to the settings service carry their signing
secret in the job as text, and ``hmac.new`` raises TypeError for a str key. The fix encodes a text
secret; the built-in tenants' byte secrets sign as before."""

KIND = "bytes-str"
STYLES = ("small-edit", "guard-clause")
HANDLER = "sign-webhook"

APP = {"webhooks/__init__.py": '''
"""Webhooks: sign a delivery's body for the receiving tenant."""
import hashlib
import hmac

from smartworker import handler

BUILT_IN = {"shop-a": b"k-shop-a", "shop-b": b"k-shop-b"}


@handler("sign-webhook")
def sign_webhook(data):
    """HMAC-SHA256 of ``body`` (UTF-8) in hex, with the tenant's secret: built in, or ``secret``."""
    key = BUILT_IN.get(data["tenant"]) or data["secret"]
    digest = hmac.new(key, data["body"].encode("utf-8"), hashlib.sha256).hexdigest()
    return {"tenant": data["tenant"], "signature": f"sha256={digest}"}
'''}

FAILING = {"tenant": "shop-z", "secret": "s3cr3t", "body": '{"event":"paid"}'}
ERROR = "TypeError"
EXPECTED = {"tenant": "shop-z", "signature": "sha256=6dfe0675fff0a44bc225e4a27ff0fafa373e25a0b3263e1e9fc6a19d330a20be"}

HISTORY = [{"tenant": "shop-a", "body": "{}"}, {"tenant": "shop-b", "body": "ping"}]

ACCEPTANCE = [
    ({"tenant": "shop-a", "body": "{}"}, {"tenant": "shop-a", "signature": "sha256=f3550878e3f6142e02c94d622b3f533f9323e2e7c290138242906a157626ab41"}),
    ({"tenant": "shop-y", "secret": "ü-key", "body": "ünïcode"}, {"tenant": "shop-y", "signature": "sha256=e781d0409281420951f78419e3f3c59aa4a3f48e98c84d9863b1bbac885e17d1"}),
    ({"tenant": "shop-b", "body": "ping"}, {"tenant": "shop-b", "signature": "sha256=2274c1192cc67f7cc96bbd7025cce90c6d275a91eecb6a5335af04ed75a29980"}),
]

FIX = {"webhooks/__init__.py": [(
    '''    key = BUILT_IN.get(data["tenant"]) or data["secret"]
''',
    '''    key = BUILT_IN.get(data["tenant"]) or data["secret"]
    if isinstance(key, str):  # secrets from the settings service arrive as text
        key = key.encode("utf-8")
''')]}
