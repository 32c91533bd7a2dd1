"""Order status e-mails: the shop added ``partially_shipped``, and ``LABELS[status]`` raises KeyError.
The docstring says statuses without a label are shown as their words, capitalised; the fix does that
(the known labels stay)."""

KIND = "missing-key"
STYLES = ("small-edit",)
HANDLER = "status-line"

APP = {"statusmail/__init__.py": '''
"""Status mail: the status line of an order e-mail."""
from smartworker import handler

LABELS = {"paid": "Payment received", "shipped": "On its way", "delivered": "Delivered"}


@handler("status-line")
def status_line(data):
    """The line for order ``order`` in status ``status``; a status without a label is shown as its
    words, capitalised ("on_hold" -> "On hold")."""
    return {"line": f"Order {data['order']}: {LABELS[data['status']]}"}
'''}

FAILING = {"order": "A-12", "status": "partially_shipped"}
ERROR = "KeyError"
EXPECTED = {"line": "Order A-12: Partially shipped"}

HISTORY = [{"order": "A-1", "status": "paid"}, {"order": "A-2", "status": "delivered"}]

ACCEPTANCE = [
    ({"order": "A-1", "status": "paid"}, {"line": "Order A-1: Payment received"}),
    ({"order": "A-3", "status": "on_hold"}, {"line": "Order A-3: On hold"}),
    ({"order": "A-4", "status": "shipped"}, {"line": "Order A-4: On its way"}),
]

FIX = {"statusmail/__init__.py": [(
    '''    return {"line": f"Order {data['order']}: {LABELS[data['status']]}"}''',
    '''    status = data["status"]
    label = LABELS.get(status) or status.replace("_", " ").capitalize()
    return {"line": f"Order {data['order']}: {label}"}''')]}
