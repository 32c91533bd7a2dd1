"""Subscription lifecycle jobs."""
from datetime import datetime, timezone

from smartworker import handler


@handler("check-subscription")
def check_subscription(data: dict) -> dict:
    """Is the subscription still active? ``expires_at`` is ISO 8601; one without an offset is UTC.

    Returns the status and the expiry normalised to UTC in ISO format.
    """
    expires = datetime.fromisoformat(data["expires_at"])
    now = datetime.now(timezone.utc)
    return {
        "subscription_id": data["subscription_id"],
        "status": "active" if expires > now else "expired",
        "expires_at": expires.astimezone(timezone.utc).isoformat(),
    }
