"""Customer wallet: the nightly clean-up of stored coupons."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from smartworker import handler


@dataclass
class Coupon:
    code: str
    expires: date
    value_cents: int

    @classmethod
    def parse(cls, code: str, raw: dict) -> Coupon:
        return cls(code, date.fromisoformat(raw["expires"]), int(raw["value_cents"]))


def drop_expired(wallet: dict[str, Coupon], today: date) -> list[str]:
    """Remove the coupons that expired before ``today`` (one expiring today is still valid); return their codes."""
    dropped = []
    for code, coupon in wallet.items():
        if coupon.expires < today:
            del wallet[code]
            dropped.append(code)
            break  # the dict cannot change size while we iterate it
    return dropped


@handler("wallet-cleanup")
def wallet_cleanup(data: dict) -> dict:
    """Drop a customer's expired coupons as of ``today``; list what is left, soonest expiry first."""
    wallet = {code: Coupon.parse(code, raw) for code, raw in data["coupons"].items()}
    dropped = drop_expired(wallet, date.fromisoformat(data["today"]))
    left = sorted(wallet.values(), key=lambda c: (c.expires, c.code))
    return {
        "customer": data["customer"],
        "dropped": dropped,
        "kept": [c.code for c in left],
        "kept_value_cents": sum(c.value_cents for c in left),
    }
