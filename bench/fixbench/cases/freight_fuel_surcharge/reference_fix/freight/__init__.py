"""Freight: road-haulage quotes."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from smartworker import handler

CENT = Decimal("0.01")


def money(value: Decimal) -> str:
    return str(value.quantize(CENT, rounding=ROUND_HALF_UP))


@handler("freight-quote")
def freight_quote(data: dict) -> dict:
    """Quote a shipment: ``rate_per_kg`` (decimal string) times ``weight_kg``, plus this week's
    ``fuel_surcharge_pct`` of that base. Each amount is rounded to the cent, halves up."""
    base = Decimal(data["rate_per_kg"]) * Decimal(str(data["weight_kg"]))
    surcharge = base * Decimal(str(data["fuel_surcharge_pct"])) / 100
    return {
        "shipment": data["shipment"],
        "base": money(base),
        "fuel_surcharge": money(surcharge),
        "total": money(base.quantize(CENT, rounding=ROUND_HALF_UP) + surcharge.quantize(CENT, rounding=ROUND_HALF_UP)),
    }
