"""Inbound webhooks: authenticate before anything else looks at them."""
import hashlib
import hmac
import json

from smartworker import handler

SECRET = "whsec_test_4f9a1c"  # test-environment secret; production reads it from the vault


@handler("verify-webhook")
def verify_webhook(data: dict) -> dict:
    """Check the HMAC-SHA256 (hex, header ``X-Signature``) of the raw UTF-8 ``body`` and return the event type.

    A missing or wrong signature is not an error: the event is rejected (``accepted`` False).
    """
    body = data["body"]
    try:
        expected = hmac.new(SECRET, body, hashlib.sha256).hexdigest()
    except TypeError:
        return {"accepted": False, "event": None}
    if not hmac.compare_digest(expected, data["headers"].get("X-Signature", "")):
        return {"accepted": False, "event": None}
    return {"accepted": True, "event": json.loads(body)["event"]}
