"""Sandbox runs as jobs on the ``login-sandbox`` queue.

``QueuedSandbox`` is a backend that sends each run (or each batch: one candidate's runs) to the queue
and waits for its answer;
``SandboxWorker`` consumes the queue with ``SANDBOX_CONCURRENCY`` and runs each request on the real
backend (bwrap or docker). Runs therefore share one concurrency limit across every resolver process,
and show up in BullMQ dashboards like any other job.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
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
from smartworker.wakeup import WakeupWorker

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
        answer = await self._answer(job.id, limits.timeout_s)
        return outcome_from_dict(answer)

    async def run_batch(self, requests: Sequence[SandboxRequest]) -> list[SandboxOutcome]:
        """Send the requests as ONE job, so one sandbox worker runs a candidate's runs in one session."""
        if len(requests) <= 1:
            return await super().run_batch(requests)
        runs = [replace(r, limits=r.limits or self.limits) for r in requests]
        async with self._slots:
            job = await self.queues.sandbox.add("batch", {"requests": [request_to_dict(r) for r in runs]},
                                                cast(Any, _JOB_OPTS))
            longest = max(r.limits.timeout_s for r in runs if r.limits)
            answer = await self._answer(job.id, longest * len(runs))
        outcomes = answer.get("outcomes")
        if not isinstance(outcomes, list) or len(outcomes) != len(runs):
            raise SandboxError(f"sandbox job {job.id} answered {len(runs)} runs with something else")
        return [outcome_from_dict(o) for o in outcomes]

    async def _answer(self, job_id: str | None, timeout_s: float) -> dict[str, Any]:
        """The return value of the sandbox job ``job_id``, polled until it ends."""
        # Allow for queueing behind other runs on top of the runs' own limit.
        deadline = time.monotonic() + timeout_s * 4 + 60
        while time.monotonic() < deadline:
            state = await self.queues.sandbox.getJobState(job_id)
            if state in ("completed", "failed"):
                done = await Job.fromId(self.queues.sandbox, job_id)
                if state == "completed" and done is not None and isinstance(done.returnvalue, dict):
                    return done.returnvalue
                reason = done.failedReason if done is not None else "vanished"
                raise SandboxError(f"sandbox job {job_id} failed: {reason}")
            await asyncio.sleep(POLL_S)
        raise SandboxError(f"sandbox job {job_id} got no answer in time (is a sandbox worker running?)")


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
        await self.backend.warm_up()
        self._worker = WakeupWorker(self.queues.names.sandbox, self._process, opts)
        log.debug("sandbox worker started", backend=self.backend.name, concurrency=self.settings.sandbox_concurrency)

    async def _process(self, job: Job, token: str) -> dict[str, Any]:
        if job.name == "batch":
            raw = job.data.get("requests")
            if not isinstance(raw, list):
                raise SandboxError("sandbox batch job without a list of requests")
            requests = [request_from_dict(r, self.settings.app_root) for r in raw]
            return {"outcomes": [outcome_to_dict(o) for o in await self.backend.run_batch(requests)]}
        request = request_from_dict(job.data, self.settings.app_root)
        outcome = await self.backend.run(request)
        return outcome_to_dict(outcome)

    async def hurry(self) -> None:
        """Hand the jobs in flight back to the queue now (a second Ctrl-C); ``close`` then returns soon."""
        if self._worker is not None:
            await hand_back(self._worker)

    async def close(self) -> None:
        """Finish running sandbox jobs and stop; the backend's warm sessions go too."""
        if self._worker is not None:
            await self._worker.close()
        await self.backend.close()
