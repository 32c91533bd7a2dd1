"""Consumes the reasoning queue: ``remember`` (store a final failure in memory) and ``resolve``
(run the repair loop). Both are BullMQ jobs, so a crash mid-way loses neither: the job's lock
expires and another worker picks it up.
"""

from __future__ import annotations

from typing import Any, NoReturn

from bullmq import DelayedError, Job, Worker

from smartworker.config import Settings
from smartworker.errors import LLMUnavailableError
from smartworker.fixes.heal import HEAL_STEP, heal_step
from smartworker.logs import get_logger
from smartworker.queues import Queues, now_ms
from smartworker.reasoning.llm import Outages
from smartworker.reasoning.resolver import Resolver
from smartworker.shutdown import hand_back
from smartworker.wakeup import WakeupWorker

log = get_logger(__name__)


class ReasoningWorker:
    """Runs resolutions one at a time (they are LLM-bound; the sandbox queue has its own concurrency)."""

    def __init__(self, settings: Settings, queues: Queues, resolver: Resolver) -> None:
        self.settings = settings
        self.queues = queues
        self.resolver = resolver
        self._worker: Worker | None = None

    async def start(self) -> None:
        """Start consuming."""
        opts = {"connection": self.queues.redis_url, "prefix": self.settings.queue_prefix, "concurrency": 1,
                # A resolution can take minutes (a local model writes ~15 tokens/s): keep its lock long.
                "lockDuration": 120_000}
        if self.resolver.llm is not None:
            self.resolver.llm.outages = Outages(self.queues.redis, self.queues.names.main, self.resolver.notifier.alert)
        self._worker = WakeupWorker(self.queues.names.reasoning, self._process, opts)
        log.debug("reasoning worker started", llm=self.resolver.llm.url if self.resolver.llm else None,
                 memory=self.resolver.memory is not None)

    async def _process(self, job: Job, token: str) -> Any:
        dlq_id = str((job.data or {}).get("dlqId", ""))
        if job.name == HEAL_STEP:  # retrying the dead jobs of a fix that runs (fixes/heal.py)
            return await heal_step(self.queues, self.settings, job.data or {})
        if job.name == "remember":
            await self.resolver.remember(dlq_id)
            return {"remembered": dlq_id}
        llm = self.resolver.llm
        if llm is not None and (wait_s := await llm.available()) > 0:
            await self._hold(job, token, wait_s)
        try:
            record = await self.resolver.resolve(dlq_id)
        except LLMUnavailableError:
            await self._hold(job, token, llm.breaker.wait_s() if llm is not None else 0.0)
        return {"fix": record.id, "status": record.status.value}

    async def _hold(self, job: Job, token: str, wait_s: float) -> NoReturn:
        """Put a resolution back until the LLM circuit breaker tries again; no attempt is used up."""
        await job.moveToDelayed(now_ms() + max(100, int(wait_s * 1000)), token)
        raise DelayedError

    async def hurry(self) -> None:
        """Hand the jobs in flight back to the queue now (a second Ctrl-C); ``close`` then returns soon."""
        if self._worker is not None:
            await hand_back(self._worker)

    async def close(self) -> None:
        """Let a running resolution finish, then stop."""
        if self._worker is not None:
            await self._worker.close()
