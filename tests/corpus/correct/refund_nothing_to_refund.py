"""Refunds: an order whose items were all returned as unusable has nothing to refund, and sharing the
fee out by ``fee * amount / total`` divides by zero. The fix answers "nothing to refund" early; that
result rightly has no ``refund_id`` or ``fee_cents``, keys every earlier refund had because its
amount was positive."""

KIND = "division-by-zero"
STYLES = ("guard-clause", "shape-differs")
HANDLER = "issue-refund"

APP = {"refunds/__init__.py": '''
"""Refunds: issue the refund for returned items."""
from smartworker import handler


@handler("issue-refund")
def issue_refund(data):
    """Refund the returned ``items`` (``cents`` each, ``usable`` ones only) of ``order``, less their
    share of the order's ``fee_cents``. With nothing to refund the status is ``nothing_to_refund``."""
    amount = sum(item["cents"] for item in data["items"] if item["usable"])
    fee = data["fee_cents"] * amount // sum(item["cents"] for item in data["items"] if item["usable"])
    return {"order": data["order"], "status": "refunded", "refund_id": f"rf-{data['order']}",
            "cents": amount - fee, "fee_cents": fee}
'''}

FAILING = {"order": "o-77", "fee_cents": 300, "items": [{"cents": 1000, "usable": False}]}
ERROR = "ZeroDivisionError"
EXPECTED = {"order": "o-77", "status": "nothing_to_refund", "cents": 0}

HISTORY = [{"order": "o-1", "fee_cents": 200, "items": [{"cents": 1000, "usable": True}, {"cents": 500, "usable": True}]},
           {"order": "o-2", "fee_cents": 0, "items": [{"cents": 700, "usable": True}, {"cents": 300, "usable": False}]}]

ACCEPTANCE = [
    ({"order": "o-1", "fee_cents": 200, "items": [{"cents": 1000, "usable": True}, {"cents": 500, "usable": True}]},
     {"order": "o-1", "status": "refunded", "refund_id": "rf-o-1", "cents": 1300, "fee_cents": 200}),
    ({"order": "o-3", "fee_cents": 50, "items": []}, {"order": "o-3", "status": "nothing_to_refund", "cents": 0}),
    ({"order": "o-2", "fee_cents": 0, "items": [{"cents": 700, "usable": True}, {"cents": 300, "usable": False}]},
     {"order": "o-2", "status": "refunded", "refund_id": "rf-o-2", "cents": 700, "fee_cents": 0}),
]

FIX = {"refunds/__init__.py": [(
    '''    fee = data["fee_cents"] * amount // sum(item["cents"] for item in data["items"] if item["usable"])
''',
    '''    if amount == 0:
        return {"order": data["order"], "status": "nothing_to_refund", "cents": 0}
    fee = data["fee_cents"]  # every usable item is refunded, so the whole fee is their share
''')]}
