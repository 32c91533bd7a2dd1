"""A cap on repeated log lines: a storm must not turn into a flood of identical lines."""

from __future__ import annotations

import time
from collections.abc import Callable


class LogBudget:
    """At most ``per_s`` log lines a second per key; a line let through says how many were left out.

    A storm fails one handler the same way hundreds of times a second; a JSON line with its
    redaction for each cost the worker about a quarter of a failed job's own time. Every failure
    is still in the DLQ and the memory (with its job id) and in the metrics.
    """

    def __init__(self, per_s: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_s = per_s
        self.clock = clock
        self._windows: dict[tuple[str, str, bool], tuple[float, int, int]] = {}

    def admit(self, key: tuple[str, str, bool]) -> int | None:
        """None to leave this line out; else how many lines of ``key`` were left out since the last."""
        now = self.clock()
        start, logged, skipped = self._windows.get(key, (now, 0, 0))
        if now - start >= 1.0:
            start, logged = now, 0
        if logged >= self.per_s:
            self._windows[key] = (start, logged, skipped + 1)
            return None
        if len(self._windows) > 1024:  # keys of handlers long gone
            self._windows.clear()
        self._windows[key] = (start, logged + 1, 0)
        return skipped
