"""Reconciliation: bank statements exported from the house bank's portal (German number format)."""
from __future__ import annotations

from decimal import Decimal

from smartworker import handler

from .amounts import parse_amount


@handler("reconcile-statement")
def reconcile_statement(data: dict) -> dict:
    """Sum a statement's lines and check them against its closing balance.

    Amounts are German-formatted text ("1.234,56"); debits carry a minus sign. ``difference`` is
    closing minus (opening + lines): zero when the statement reconciles.
    """
    opening = parse_amount(data["opening_balance"])
    amounts = [parse_amount(line["amount"]) for line in data["lines"]]
    credits = sum((a for a in amounts if a > 0), Decimal("0.00"))
    debits = sum((a for a in amounts if a < 0), Decimal("0.00"))
    closing = parse_amount(data["closing_balance"])
    return {
        "account": data["account"],
        "credits": str(credits),
        "debits": str(debits),
        "difference": str(closing - (opening + credits + debits)),
        "reconciled": closing == opening + credits + debits,
    }
