"""Payment webhook: ``meta`` is optional JSON text, and a provider now sends it as null;
``json.loads(None)`` raises TypeError, which the handler's ``except json.JSONDecodeError`` does not
catch. The docstring says a missing or empty ``meta`` means no metadata: the fix catches the right
exception for it."""

KIND = "exception-handling"
STYLES = ("right-exception", "small-edit")
HANDLER = "payment-webhook"

APP = {"payments/__init__.py": '''
"""Payments: record a provider's webhook."""
import json

from smartworker import handler


@handler("payment-webhook")
def payment_webhook(data):
    """Record ``event`` for ``payment``; ``meta`` is optional JSON text (missing, null or unreadable:
    no metadata), and its ``order`` links the payment to an order."""
    try:
        meta = json.loads(data.get("meta"))
    except json.JSONDecodeError:
        meta = {}
    return {"payment": data["payment"], "event": data["event"], "order": meta.get("order")}
'''}

FAILING = {"payment": "pay_1", "event": "succeeded", "meta": None}
ERROR = "TypeError"
EXPECTED = {"payment": "pay_1", "event": "succeeded", "order": None}

HISTORY = [
    {"payment": "pay_0", "event": "succeeded", "meta": '{"order": "O-9"}'},
    {"payment": "pay_2", "event": "failed", "meta": "not json"},
]

ACCEPTANCE = [
    ({"payment": "pay_0", "event": "succeeded", "meta": '{"order": "O-9"}'},
     {"payment": "pay_0", "event": "succeeded", "order": "O-9"}),
    ({"payment": "pay_3", "event": "refunded"}, {"payment": "pay_3", "event": "refunded", "order": None}),
    ({"payment": "pay_2", "event": "failed", "meta": "not json"}, {"payment": "pay_2", "event": "failed",
                                                                   "order": None}),
]

FIX = {"payments/__init__.py": [(
    "    except json.JSONDecodeError:\n",
    "    except (TypeError, json.JSONDecodeError):  # TypeError: meta is missing or null\n",
)]}
