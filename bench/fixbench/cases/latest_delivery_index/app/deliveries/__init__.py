"""Outgoing webhook deliveries."""
from smartworker import handler


@handler("delivery-status")
def delivery_status(data: dict) -> dict:
    """The delivery's status, decided by its most recent attempt (``at``: ISO timestamps, all UTC).

    Attempts arrive in any order. Below HTTP 300 is "delivered", anything else "failing",
    and a delivery without attempts is "pending".
    """
    if not data["attempts"]:
        return {"delivery_id": data["delivery_id"], "attempts": 0, "status": "pending", "last_status_code": None}
    attempts = sorted(data["attempts"], key=lambda attempt: attempt["at"])
    latest = attempts[len(attempts)]
    return {
        "delivery_id": data["delivery_id"],
        "attempts": len(attempts),
        "status": "delivered" if latest["http_status"] < 300 else "failing",
        "last_status_code": latest["http_status"],
    }
