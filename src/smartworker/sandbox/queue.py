"""Sandbox runs as jobs on the ``login-sandbox`` queue.

``QueuedSandbox`` is a backend that sends each run to the queue and waits for its answer;
``SandboxWorker`` consumes the queue with ``SANDBOX_CONCURRENCY`` and runs each request on the real
backend (bwrap or docker). Runs therefore share one concurrency limit across every resolver process,
and show up in BullMQ dashboards like any other job.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any, cast

from bullmq import Job, Worker

from smartworker.config import Settings
from smartworker.errors import SandboxError
from smartworker.logs import get_logger
from smartworker.queues import Queues
from smartworker.sandbox.base import (
    SandboxBackend,
    SandboxLimits,
    SandboxOutcome,
    SandboxRequest,
    SandboxStatus,
)
from smartworker.shutdown import hand_back

log = get_logger(__name__)

#: Sandbox jobs run once; a crashed run is an outcome, not something to retry.
_JOB_OPTS: dict[str, Any] = {"attempts": 1, "removeOnComplete": {"age": 3600}, "removeOnFail": {"age": 3600}}
POLL_S = 0.02


def request_to_dict(request: SandboxRequest) -> dict[str, Any]:
    """JSON form of a request (the queue job's data)."""
    return {
        "app_module": request.app_module,
        "handler": request.handler,
        "data": request.data,
        "changed_files": dict(request.changed_files),
        "job_id": request.job_id,
        "job_name": request.job_name,
        "queue": request.queue,
        "attempt": request.attempt,
        "hazard_testing": request.hazard_testing,
        "env": dict(request.env),
        "limits": asdict(request.limits) if request.limits else None,
    }


def request_from_dict(raw: dict[str, Any], app_root: Path) -> SandboxRequest:
    """Inverse of request_to_dict. The app root is always the worker's own: queue data is untrusted,
    so it may not point the sandbox at another tree."""
    limits = raw.get("limits")
    return SandboxRequest(
        app_root=app_root,
        app_module=str(raw["app_module"]),
        handler=str(raw["handler"]),
        data=dict(raw.get("data") or {}),
        changed_files={str(k): str(v) for k, v in (raw.get("changed_files") or {}).items()},
        job_id=str(raw.get("job_id", "sandbox")),
        job_name=raw.get("job_name"),
        queue=str(raw.get("queue", "sandbox")),
        attempt=int(raw.get("attempt", 1)),
        hazard_testing=bool(raw.get("hazard_testing", False)),
        env={str(k): str(v) for k, v in (raw.get("env") or {}).items()},
        limits=SandboxLimits(**limits) if isinstance(limits, dict) else None,
    )


def outcome_to_dict(outcome: SandboxOutcome) -> dict[str, Any]:
    """JSON form of an outcome (the queue job's return value)."""
    out = asdict(outcome)
    out["status"] = outcome.status.value
    return out


def outcome_from_dict(raw: dict[str, Any]) -> SandboxOutcome:
    """Inverse of outcome_to_dict."""
    raw = dict(raw)
    raw["status"] = SandboxStatus(raw["status"])
    return SandboxOutcome(**raw)


class QueuedSandbox(SandboxBackend):
    """A backend that runs each request as a job on the sandbox queue."""

    name = "queue"

    def __init__(self, queues: Queues, limits: SandboxLimits, *, concurrency: int = 64) -> None:
        super().__init__(limits, concurrency=concurrency)
        self.queues = queues

    def check(self) -> None:
        """The queue is always there; the worker's backend is checked where it runs."""

    async def _run(self, request: SandboxRequest, limits: SandboxLimits) -> SandboxOutcome:
        payload = request_to_dict(replace(request, limits=limits))
        job = await self.queues.sandbox.add("run", payload, cast(Any, _JOB_OPTS))
        # Allow for queueing behind other runs on top of the run's own limit.
        deadline = time.monotonic() + limits.timeout_s * 4 + 60
        while time.monotonic() < deadline:
            state = await self.queues.sandbox.getJobState(job.id)
            if state in ("completed", "failed"):
                done = await Job.fromId(self.queues.sandbox, job.id)
                if state == "completed" and done is not None and isinstance(done.returnvalue, dict):
                    return outcome_from_dict(done.returnvalue)
                reason = done.failedReason if done is not None else "vanished"
                raise SandboxError(f"sandbox job {job.id} failed: {reason}")
            await asyncio.sleep(POLL_S)
        raise SandboxError(f"sandbox job {job.id} got no answer in time (is a sandbox worker running?)")


class SandboxWorker:
    """Consumes the sandbox queue and runs requests on the configured backend."""

    def __init__(self, settings: Settings, queues: Queues, backend: SandboxBackend) -> None:
        self.settings = settings
        self.queues = queues
        self.backend = backend
        self._worker: Worker | None = None

    async def start(self) -> None:
        """Start consuming."""
        opts = {"connection": self.queues.redis_url, "prefix": self.settings.queue_prefix,
                "concurrency": self.settings.sandbox_concurrency}
        self._worker = Worker(self.queues.names.sandbox, self._process, opts)
        log.debug("sandbox worker started", backend=self.backend.name, concurrency=self.settings.sandbox_concurrency)

    async def _process(self, job: Job, token: str) -> dict[str, Any]:
        request = request_from_dict(job.data, self.settings.app_root)
        outcome = await self.backend.run(request)
        return outcome_to_dict(outcome)

    async def hurry(self) -> None:
        """Hand the jobs in flight back to the queue now (a second Ctrl-C); ``close`` then returns soon."""
        if self._worker is not None:
            await hand_back(self._worker)

    async def close(self) -> None:
        """Finish running sandbox jobs and stop."""
        if self._worker is not None:
            await self._worker.close()
