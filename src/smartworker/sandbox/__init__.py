"""Running a job against candidate code in isolation, and deciding whether a fix really fixes it.

``create_sandbox(settings)`` picks the backend (bwrap by default, docker); ``verify`` and ``baseline``
(in :mod:`smartworker.sandbox.verdict`) build verdicts from its runs. Names are imported on first use
(PEP 562): the runner that executes inside the sandbox lives in this package too, and must not pay for
the host side (asyncio, the verdict) every time it starts.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from smartworker.sandbox.base import (
        SANDBOX_APP_DIR,
        SandboxBackend,
        SandboxLimits,
        SandboxOutcome,
        SandboxRequest,
        SandboxStatus,
        create_sandbox,
    )
    from smartworker.sandbox.verdict import Baseline, Verdict, baseline, verify

#: Public name -> the module that defines it.
_EXPORTS = {
    **dict.fromkeys(("SANDBOX_APP_DIR", "SandboxBackend", "SandboxLimits", "SandboxOutcome", "SandboxRequest",
                     "SandboxStatus", "create_sandbox"), "smartworker.sandbox.base"),
    **dict.fromkeys(("Baseline", "Verdict", "baseline", "verify"), "smartworker.sandbox.verdict"),
}


def __getattr__(name: str) -> Any:
    try:
        module = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    return getattr(importlib.import_module(module), name)


__all__ = [
    "SANDBOX_APP_DIR",
    "Baseline",
    "SandboxBackend",
    "SandboxLimits",
    "SandboxOutcome",
    "SandboxRequest",
    "SandboxStatus",
    "Verdict",
    "baseline",
    "create_sandbox",
    "verify",
]
