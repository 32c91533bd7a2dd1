"""Prompt wake-up of an idle BullMQ worker: delayed jobs and retries on time, new jobs at once.

An idle BullMQ worker waits in ``BZPOPMIN`` on the queue's marker key, for up to the drain delay
(5 s) or, when a delayed job is due, until it is due (at most 10 s per call). Two things in
bullmq 3.4 on redis-py 8 make that wait miss its end:

* redis-py's asyncio client now reads with a default socket timeout of 5 s, and bullmq builds its
  blocking client with that default and retries ``TimeoutError`` 20 times with a backoff growing
  to 20 s. A ``BZPOPMIN`` asked to block longer than 5 s (every wait for a job due in more than
  5 s) times out on the socket and is sent again with the same block time, so it never returns:
  a delayed job or a retry on an idle queue ran only when another job arrived or the retries ran
  out (minutes). A 5 s drain-delay block races the same timeout, and the backoff sleep after it
  delayed the first job after an idle period by a second or more.
* bullmq reads the server version (which decides whether Redis takes fractional block times)
  only on the main connection, so the blocking one keeps its conservative default and rounds every
  block up to whole seconds: a job due in 0.2 s waited 1 s.

``WakeupMixin`` gives the worker its own blocking client whose socket timeout outlasts the
longest block it asks for, whose reconnects back off for at most a second (so an idle worker is
back within about a second of Redis), and whose block times follow the server's capabilities.
Everything else is bullmq's. It is a mixin so that it composes with other Worker subclasses:
``class MyWorker(WakeupMixin, OtherWorker)``.
"""

from __future__ import annotations

import asyncio
from typing import Any

import redis.asyncio as aioredis
from bullmq import Worker
from bullmq.backends import RedisBackend
from bullmq.redis_connection import RedisConnection
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import BusyLoadingError, RedisError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from smartworker.logs import get_logger

log = get_logger(__name__)

#: Seconds the blocking socket waits beyond the longest block, for the reply to travel and for a
#: busy server: a read that takes longer than that means the connection is dead, not slow.
BLOCK_READ_MARGIN_S = 5.0
#: Reconnect backoff of the blocking client, capped low: while it sleeps the idle worker is deaf.
RECONNECT_BACKOFF_BASE_S = 0.05
RECONNECT_BACKOFF_CAP_S = 1.0
#: How long the first wait may spend asking the server's version (INFO) before it waits anyway.
CAPABILITIES_PROBE_S = 2.0
#: How often close() looks for an idle wait that began after it was called.
CLOSE_POLL_S = 0.1


class WakeupMixin(Worker):  # type: ignore[misc]  # bullmq ships no type information
    """A BullMQ Worker whose idle wait ends when it should (see the module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._capabilities_known = False
        super().__init__(*args, **kwargs)
        # The worker's run() is only scheduled by now; it takes its first job after this swap.
        self._dedicate_blocking_client()

    def _dedicate_blocking_client(self) -> None:
        backend = self.backend
        if not isinstance(backend, RedisBackend) or backend.blocking_connection is None \
                or not isinstance(backend.blocking_connection.conn, aioredis.Redis):
            self._capabilities_known = True
            return  # another backend (PostgreSQL) or a Redis Cluster: bullmq's own wait
        # The pool settings of the client bullmq built (from the URL, options or client it was
        # given), so host, password, TLS and decoding stay as configured; a client handed in by
        # the caller keeps its own timeouts for its other uses.
        pool = backend.blocking_connection.conn.connection_pool
        settings = {
            **pool.connection_kwargs,
            "socket_timeout": self.longest_block_s() + BLOCK_READ_MARGIN_S,
            # Forever: every error here is a lost connection, and bullmq's own fallback after a
            # failed wait is a 15 s pause (runRetryDelay).
            "retry": Retry(ExponentialBackoff(cap=RECONNECT_BACKOFF_CAP_S, base=RECONNECT_BACKOFF_BASE_S), -1),
            "retry_on_error": [BusyLoadingError, RedisConnectionError, RedisTimeoutError],
        }
        client = aioredis.Redis(connection_pool=type(pool)(connection_class=pool.connection_class, **settings),
                                single_connection_client=True)
        client.auto_close_connection_pool = True  # the pool is this client's alone: close() closes it
        backend.blocking_connection = RedisConnection(client, skipVersionCheck=self.opts.get("skipVersionCheck", False))
        # bullmq's compatibility handles to the same connection
        self.blockingRedisConnection = backend.blocking_connection
        self.bclient = client

    def longest_block_s(self) -> float:
        """The longest ``BZPOPMIN`` this worker asks for: a due job's wait, or the drain delay."""
        return float(max(self.maximumBlockTimeout, self.opts.get("drainDelay", 5)))

    async def waitForJob(self) -> int:
        """Wait for a job as bullmq does, with block times the server's version allows."""
        if not self._capabilities_known:
            await self._learn_capabilities()
        return int(await super().waitForJob())

    async def close(self, force: bool = False) -> None:
        """bullmq's close, cancelling idle waits until it is done.

        close() cancels the wait in progress, but a fetch that was between Redis calls at that
        moment starts a new wait afterwards (bullmq's getNextJob does not look at ``closing``),
        and with a wait that no longer gives up early that new wait would hold close() up."""
        closing = asyncio.ensure_future(super().close(force))
        while not closing.done():
            if self.waiting and not self.waiting.done():
                self.waiting.cancel()
            await asyncio.wait({closing}, timeout=CLOSE_POLL_S)
        await closing

    async def _learn_capabilities(self) -> None:
        # Here rather than at start: a Redis down at start must not keep the worker on whole
        # seconds for good, and close() cancels this wait like any other.
        connection = self.blockingRedisConnection
        try:
            await asyncio.wait_for(connection.getRedisVersion(), CAPABILITIES_PROBE_S)
        except (RedisConnectionError, RedisTimeoutError, TimeoutError):
            return  # Redis away: bullmq's whole-second blocks this time, ask again on the next wait
        except (RedisError, UserWarning) as exc:
            # INFO refused (a managed Redis may rename it), or bullmq's warning about an eviction
            # policy made an error (pytest -W error): keep bullmq's whole-second blocks.
            log.warning("Redis version unknown: idle waits are rounded up to whole seconds",
                        queue=self.name, error=f"{type(exc).__name__}: {exc}")
        self._capabilities_known = True


class WakeupWorker(WakeupMixin):
    """bullmq's Worker with ``WakeupMixin`` applied."""
