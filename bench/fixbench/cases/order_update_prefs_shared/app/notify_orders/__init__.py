"""Order-status notifications to everyone following an order (buyer, gift recipient, company buyer)."""
from smartworker import handler

from . import prefs, templates


@handler("order-status-notify")
def order_status_notify(data):
    """One message per recipient of ``recipients``, in each one's channel and language.

    A recipient's ``prefs`` may set ``channel`` ("email" or "sms") and ``language``; whatever it
    does not set is the default: email, English.
    """
    messages = []
    for person in data["recipients"]:
        chosen = prefs.for_recipient(person)
        text = templates.render(chosen["language"], order=data["order"], status=data["status"])
        address = person["phone"] if chosen["channel"] == "sms" else person["email"]
        messages.append({"to": address, "channel": chosen["channel"], "text": text})
    return {"order": data["order"], "messages": messages}
