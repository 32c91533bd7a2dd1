"""The quote service's client (here a snapshot of the last close, so jobs are reproducible)."""
import asyncio

_SNAPSHOT = {
    "ACME": {"last": "131.20", "currency": "USD"},
    "GLOBX": {"last": "18.05", "currency": "EUR"},
    "INITECH": {"last": "7.41", "currency": "USD"},
    "UMBRL": {"last": "402.00", "currency": "USD"},
}


class UnknownSymbol(LookupError):
    """The quote service has no instrument of that symbol."""


async def latest_quote(symbol: str) -> dict:
    await asyncio.sleep(0)
    try:
        return _SNAPSHOT[symbol.upper()]
    except KeyError:
        raise UnknownSymbol(symbol) from None
