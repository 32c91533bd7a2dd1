"""Gavel: closing timed online auction lots."""
from __future__ import annotations

from decimal import Decimal

from smartworker import handler

CENTS = Decimal("0.01")


def _amount(bid: dict) -> Decimal:
    return Decimal(str(bid["amount"]))


@handler("close-lot")
async def close_lot(data: dict) -> dict:
    """Close a lot when its timer ends.

    The highest bid wins if it reaches the lot's ``reserve`` (none means any bid wins); on equal
    amounts the earlier bid wins. Otherwise the lot is unsold and ``winner`` and ``price`` are None.
    """
    reserve = Decimal(str(data.get("reserve") or 0))
    top = max(data["bids"], key=_amount, default=None)
    if top is None or _amount(top) < reserve:
        return {"lot": data["lot"], "status": "unsold", "winner": None, "price": None}
    return {"lot": data["lot"], "status": "sold", "winner": top["bidder"], "price": str(_amount(top).quantize(CENTS))}
