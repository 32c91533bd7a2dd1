"""Running a job against candidate code in isolation, and deciding whether a fix really fixes it.

``create_sandbox(settings)`` picks the backend (bwrap by default, docker); ``verify`` and ``baseline``
(in :mod:`smartworker.sandbox.verdict`) build verdicts from its runs. Only the standard library is
imported here, because the runner that executes inside the sandbox lives in this package too.
"""

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
