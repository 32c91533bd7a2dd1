"""Newsletter: one-click unsubscribe links.

The mailer (a Node service) puts a token in every footer link: the claims ``{"sub": email,
"list": list id}`` as JSON, base64url-encoded without padding, as JWT payloads are.
"""
from __future__ import annotations

import base64
import json

from smartworker import handler


def decode_token(token: str) -> dict:
    """The claims carried by an unsubscribe token."""
    # base64url without padding: restore the padding, and read '-' and '_' as the URL-safe alphabet does.
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    return json.loads(raw.decode("utf-8"))


@handler("newsletter-unsubscribe")
def unsubscribe(data: dict) -> dict:
    """Unsubscribe the token's address from the token's list; ``reason`` is optional free text."""
    claims = decode_token(data["token"])
    return {
        "email": claims["sub"].lower(),
        "list": claims["list"],
        "unsubscribed": True,
        "reason": (data.get("reason") or "").strip() or None,
    }
