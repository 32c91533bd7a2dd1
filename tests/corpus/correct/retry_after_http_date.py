"""Outbound API client: a partner's ``Retry-After`` header is an HTTP date, not seconds, and
``int(header)`` raises ValueError. RFC 9110 allows both; the fix reads a date with
``email.utils.parsedate_to_datetime`` and waits until then (never less than zero)."""

KIND = "parse-format"
STYLES = ("helper-extracted", "api-migration")
HANDLER = "retry-delay"

APP = {"partnerapi/__init__.py": '''
"""Partner API: how long to wait before calling again after a 429/503."""
from smartworker import handler


@handler("retry-delay")
def retry_delay(data):
    """Seconds to wait: the ``retry_after`` header, counted from ``now`` (epoch seconds); 60 without."""
    header = data.get("retry_after")
    seconds = 60 if header is None else int(header)
    return {"partner": data["partner"], "wait_s": seconds}
'''}

FAILING = {"partner": "acme", "now": 1796515200, "retry_after": "Sun, 06 Dec 2026 00:02:00 GMT"}
ERROR = "ValueError"
EXPECTED = {"partner": "acme", "wait_s": 120}

HISTORY = [{"partner": "acme", "now": 1796515200, "retry_after": "30"}, {"partner": "zeta", "now": 1796515200}]

ACCEPTANCE = [
    ({"partner": "acme", "now": 1796515200, "retry_after": "30"}, {"partner": "acme", "wait_s": 30}),
    ({"partner": "zeta", "now": 1796515200}, {"partner": "zeta", "wait_s": 60}),
    ({"partner": "late", "now": 1796515200, "retry_after": "Sat, 05 Dec 2026 23:00:00 GMT"},
     {"partner": "late", "wait_s": 0}),
]

FIX = {"partnerapi/__init__.py": '''
"""Partner API: how long to wait before calling again after a 429/503."""
from email.utils import parsedate_to_datetime

from smartworker import handler


def seconds_until(header, now):
    """A ``Retry-After`` value: delay seconds ("120") or an HTTP date, as seconds from ``now``."""
    if header.strip().isdigit():
        return int(header)
    return max(0, int(parsedate_to_datetime(header).timestamp() - now))


@handler("retry-delay")
def retry_delay(data):
    """Seconds to wait: the ``retry_after`` header, counted from ``now`` (epoch seconds); 60 without."""
    header = data.get("retry_after")
    seconds = 60 if header is None else seconds_until(header, data["now"])
    return {"partner": data["partner"], "wait_s": seconds}
'''}
