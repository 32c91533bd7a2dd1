"""Inbound SMS from the gateway: keywords change the subscription, anything else is a reply."""
import base64

from smartworker import handler

KEYWORDS = {"STOP": "unsubscribe", "START": "subscribe", "HELP": "help"}


@handler("inbound-sms")
def inbound_sms(data: dict) -> dict:
    """Route one message. The gateway sends its UTF-8 text base64-encoded in ``body_b64``.

    A message whose first word is a keyword (any case) becomes that action; the rest are replies.
    """
    text = base64.b64decode(data["body_b64"]).strip()
    first = text.split(" ", 1)[0].upper()
    return {"from": data["from"], "action": KEYWORDS.get(first, "reply"), "text": text}
