"""Payment-provider webhooks: record captured payments."""
import json

from smartworker import handler


@handler("payment-webhook")
def payment_webhook(data: dict) -> dict:
    """Parse a ``payment.captured`` event from the raw webhook ``body``; other events are ignored.

    Amounts are integer cents.
    """
    event = json.loads(data["body"])
    if event["type"] != "payment.captured":
        return {"ignored": event["type"]}
    payment = event["data"]["object"]
    return {
        "payment_id": payment["id"],
        "amount_cents": payment.get("amount", 0),
        "currency": payment["currency"].upper(),
        "customer": payment.get("customer"),
    }
