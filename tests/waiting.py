"""Waiting for a condition in a test: shared by the unit, integration and e2e suites."""

from __future__ import annotations

import time
from typing import Any


def poll(fn: Any, timeout: float = 30) -> Any:
    """``fn()``'s first truthy value, asked every 0.1 s; AssertionError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = fn()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("condition not met in time")
