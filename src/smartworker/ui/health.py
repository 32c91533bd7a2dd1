"""The health of each part the overview shows: Redis, PostgreSQL, the sandbox, the LLM, workers.

Every probe has a short deadline, so a part that hangs shows as down instead of holding the page;
the slow ones (the sandbox start, the LLM's answer) are remembered for a few seconds.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx

from smartworker.openai_api import endpoint
from smartworker.worker import live_workers

if TYPE_CHECKING:
    from smartworker.service import Service

#: Longest a probe may take before its part counts as down.
PROBE_S = 2.0
#: How long a sandbox or LLM answer is reused.
CACHE_S = 15.0


@dataclass(frozen=True)
class Part:
    """One part's state: "up", "down" or "not configured", and a line on why."""

    name: str
    state: str
    detail: str = ""


@dataclass
class _Cached:
    part: Part | None = None
    at: float = -1e9
    refreshing: asyncio.Task[None] | None = None


async def _timed(probe: Awaitable[Part], name: str) -> Part:
    try:
        return await asyncio.wait_for(probe, PROBE_S)
    except TimeoutError:
        return Part(name, "down", f"no answer within {PROBE_S:.0f} s")
    except Exception as exc:
        return Part(name, "down", f"{type(exc).__name__}: {exc}"[:200])


class Health:
    """Probes for one service; keeps the slow answers for ``CACHE_S``."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self._sandbox = _Cached()
        self._llm = _Cached()

    async def parts(self) -> list[Part]:
        """Every part, probed at once."""
        return list(await asyncio.gather(
            _timed(self._redis(), "Redis"),
            _timed(self._database(), "PostgreSQL"),
            self._cached(self._sandbox, self._sandbox_probe, "Sandbox"),
            self._cached(self._llm, self._llm_probe, "LLM"),
        ))

    async def _cached(self, slot: _Cached, probe: Callable[[], Awaitable[Part]], name: str) -> Part:
        async def refresh() -> None:
            slot.part, slot.at = await _timed(probe(), name), time.monotonic()

        if slot.part is None:
            await refresh()
        elif time.monotonic() - slot.at > CACHE_S and (slot.refreshing is None or slot.refreshing.done()):
            # A stale answer is shown once more while a fresh one is fetched: no page waits on a probe.
            slot.refreshing = asyncio.create_task(refresh())
        assert slot.part is not None
        return slot.part

    async def _redis(self) -> Part:
        await self.service.queues.redis.ping()
        return Part("Redis", "up", self.service.queues.settings.queue_prefix + ":" + self.service.queues.names.main)

    async def _database(self) -> Part:
        state = await self.service.database_state()
        if state == "not configured":
            return Part("PostgreSQL", "not configured", "the failure memory is off")
        return Part("PostgreSQL", state, "failure memory")

    async def _sandbox_probe(self) -> Part:
        from smartworker.errors import SmartWorkerError
        from smartworker.sandbox.base import create_sandbox

        settings = self.service.settings
        try:
            backend = create_sandbox(settings, check=False)
            await asyncio.to_thread(backend.check)
        except SmartWorkerError as exc:
            return Part("Sandbox", "down", exc.message)
        return Part("Sandbox", "up", settings.sandbox_backend)

    async def _llm_probe(self) -> Part:
        settings = self.service.settings
        url = settings.ai_service_url or (self.service.llm.url if self.service.llm else None)
        if not url:
            return Part("LLM", "not configured", "set AI_SERVICE_URL or install the local model")
        headers = {"Authorization": f"Bearer {settings.ai_api_key}"} if settings.ai_api_key else {}
        async with httpx.AsyncClient(timeout=PROBE_S) as client:
            answer = await client.get(endpoint(url, "models"), headers=headers)
        if answer.status_code >= 500:
            return Part("LLM", "down", f"HTTP {answer.status_code}")
        return Part("LLM", "up", settings.ai_model_name)


async def workers(service: Service, queues: list[str]) -> dict[str, int]:
    """Workers connected to each queue, from one CLIENT LIST.

    BullMQ names a worker's connections ``<prefix>:<queue>:w:<worker name>``, or ``<prefix>:<queue>``
    when the worker has no name; an unnamed worker holds two (a blocking one and a regular one).
    The main queue's SmartWorker heartbeats count too when they say more.
    """
    prefix = service.settings.queue_prefix
    redis = service.queues.redis
    named: dict[str, set[str]] = {q: set() for q in queues}
    unnamed: dict[str, int] = dict.fromkeys(queues, 0)
    clients: Any = await redis.client_list()
    for client in clients:
        name = str(client.get("name") or "")
        if not name.startswith(prefix + ":"):
            continue
        queue, sep, worker = name[len(prefix) + 1:].partition(":w:")
        if queue in named:
            if sep:
                named[queue].add(worker)
            else:
                unnamed[queue] += 1
    out = {q: len(named[q]) + (unnamed[q] + 1) // 2 for q in queues}
    main = service.queues.names.main
    out[main] = max(out.get(main, 0), await live_workers(service.queues))
    return out
