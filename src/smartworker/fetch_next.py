"""A bullmq Worker that completes a job and takes the next one in the same Redis call, as Node does.

bullmq for Python (the version in ``PATCHED_FOR``) differs from Node BullMQ's worker in three places
that cost most of its time per job:

- It completes a job with ``fetch_next=False`` and then asks for the next one with a second script
  call (``moveToActive``). BullMQ's ``moveToFinished`` script can move the next waiting job to
  active in the same call; Node's worker always asks it to. Here the completing call does too, and
  the job it returns is processed by the same task, so a busy worker makes one round trip per job.
- Its connection is redis-py's single-connection client, which holds a lock from a command's
  write to its reply: with ``concurrency`` N, N completions wait for each other's round trips.
  Node's client writes every command on its one connection at once and reads the replies in bulk.
  Here the completions of one event-loop tick go out as one pipeline (``CompletionBatch``): one
  write and one read for all of them. Each is still its own ``moveToFinished`` script call, atomic
  on its own, so nothing about a job changes.
- Its loop waits with ``asyncio.wait(FIRST_COMPLETED)`` over every in-flight task, which adds and
  removes a callback on each of them every time one finishes (O(concurrency) per job). Here each of
  the ``concurrency`` slots is one task that runs job after job, and the loop only wakes when a slot
  ends or a fetched job leaves room for another fetch.

Everything else is bullmq's own code: fetching (``getNextJob``, blocking on the marker when
drained), ``nextJobFromJobData`` (rate limits, delays, job schedulers), failure handling
(``Job.moveToFailed``: retries, backoff, final failure), lock renewal, the stalled-job check,
``pause``/``close`` and the events (``active`` for every job, ``completed``, ``failed``, ``error``,
``stalled``). A failed attempt fetches the next job in the same call too, except an immediate retry
(bullmq's retry script does not fetch). The Lua scripts are bullmq's, so the jobs in Redis are the
same as with Node's or bullmq's own worker.

The methods overridden here (``run``, ``processJob``) copy the shape of bullmq's; the version pin in
``tests/unit/test_fetch_next_pin.py`` fails when bullmq changes, so the copy is re-checked then.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from typing import Any

from bullmq import Job, Worker
from bullmq.backends import RedisBackend
from bullmq.custom_errors import DelayedError, UnrecoverableError, WaitingChildrenError
from bullmq.scripts import raw2NextJobData
from bullmq.timer import Timer
from bullmq.utils import is_redis_cluster
from redis.exceptions import NoScriptError

from smartworker.tracebacks import record_stacktrace
from smartworker.wakeup import WakeupMixin

#: The bullmq release whose ``Worker.run`` and ``Worker.processJob`` this module was written
#: against. When the installed version differs, re-read those two methods and the
#: ``moveToFinished`` script before moving the pin.
PATCHED_FOR = "3.4.4"


class CompletionBatch:
    """Sends the ``moveToFinished`` calls made in one event-loop tick as one pipeline.

    Every caller gets its own script's answer (or error), as if it had made the call alone.
    """

    def __init__(self, client: Any, script: Any) -> None:
        self._client = client
        self._script = script  # redis-py's Script: its sha, and a call that reloads it if needed
        self._pending: list[tuple[list[Any], list[Any], asyncio.Future[Any]]] = []
        self._sending: set[asyncio.Task[None]] = set()

    def call(self, keys: list[Any], args: list[Any]) -> asyncio.Future[Any]:
        """Queue one script call; it is sent once the callers of this tick have queued theirs."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        if not self._pending:
            loop.call_soon(self._flush)
        self._pending.append((keys, args, future))
        return future

    def _flush(self) -> None:
        batch, self._pending = self._pending, []
        task = asyncio.ensure_future(self._send(batch))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _send(self, batch: list[tuple[list[Any], list[Any], asyncio.Future[Any]]]) -> None:
        # Even a batch of one goes as a pipeline: its answers then arrive together on one
        # connection, so the next tick's batch is large again (measured: a plain call for the
        # batches of one let the worker slide back to one call per connection and 3x the CPU).
        try:
            async with self._client.pipeline(transaction=False) as pipe:
                for keys, args, _ in batch:
                    pipe.evalsha(self._script.sha, len(keys), *keys, *args)
                results = await pipe.execute(raise_on_error=False)
        except Exception as err:  # connection lost: each caller sees it, as it would on its own call
            for _, _, future in batch:
                if not future.done():
                    future.set_exception(err)
            return
        for (keys, args, future), result in zip(batch, results, strict=True):
            if isinstance(result, NoScriptError):
                # Redis lost its scripts (a restart, SCRIPT FLUSH): the Script call loads it again.
                try:
                    result = await self._script(keys=keys, args=args)
                except Exception as err:
                    result = err
            if future.done():  # its caller was cancelled
                continue
            if isinstance(result, BaseException):
                future.set_exception(result)
            else:
                future.set_result(result)


class BatchedFailure:
    """A job's backend for its failure: ``moveToFailed`` through the ``CompletionBatch``, the rest as is.

    bullmq's ``Job.moveToFailed`` decides between a retry (``retryJob``, ``moveToDelayed``: passed
    on unchanged) and a final failure, which it sends as ``RedisBackend.moveToFailed``: the same
    ``moveToFinished`` script as a completion, with the same answer.
    """

    def __init__(self, backend: Any, completions: CompletionBatch) -> None:
        self._backend = backend
        self._completions = completions

    def __getattr__(self, name: str) -> Any:
        return getattr(self._backend, name)

    async def moveToFailed(self, job: Job, failed_reason: str, remove_on_fail: Any, token: str,
                           fetch_next: bool = True, fields_to_update: dict[str, Any] | None = None) -> Any:
        """As ``RedisBackend.moveToFailed`` (bullmq 3.4.4), the script call batched."""
        scripts = self._backend.scripts
        keys, args = scripts.moveToFailedArgs(job, failed_reason, remove_on_fail, token, fetch_next,
                                              fields_to_update)
        raw = await self._completions.call(keys, args)
        if isinstance(raw, int) and raw < 0:
            raise scripts.finishedErrors({"code": raw, "jobId": job.id, "command": "moveToFinished",
                                          "state": "active"})
        return {"result": raw2NextJobData(raw) if raw is not None else None, "finishedOn": args[1]}


class FetchNextWorker(Worker):  # type: ignore[misc]  # bullmq ships no type information
    """bullmq's Worker with Node's hot path: complete-and-fetch in one call, O(1) loop per job."""

    def __init__(self, name: str, processor: Any, opts: dict[str, Any] | None = None) -> None:
        # Set before bullmq's __init__, which may schedule ``run`` (autorun).
        self._wake = asyncio.Event()
        super().__init__(name, processor, opts or {})
        # A cluster pipeline would split the batch by node; there each call goes alone, as in bullmq.
        self._completions: CompletionBatch | None = None
        if isinstance(self.backend, RedisBackend) and not is_redis_cluster(self.client):
            self._completions = CompletionBatch(self.client, self.scripts.commands["moveToFinished"])

    # -- the loop ----------------------------------------------------------------------------------
    async def run(self) -> None:
        """Keep up to ``concurrency`` slots running; each fetches a job and then works a chain."""
        if self.running:  # type: ignore[has-type]  # set in bullmq's __init__
            raise Exception("Worker is already running")
        await self._ensure_client_names()
        self.lockManager.start()
        self.stalledCheckTimer = Timer(self.opts.get("stalledInterval") / 1000, self.runStalledJobsCheck,
                                       self.emit)
        self.running = True
        token_postfix = 0
        try:
            while not self.closed:
                if self.paused and not self.closing:
                    await self.resume_event.wait()
                    continue
                concurrency = self.opts.get("concurrency")
                # One blocking wait at a time when the queue is drained, as in bullmq's loop. Nothing
                # new after a forced stop (shutdown.hand_back may come before close()): bullmq's loop
                # ends there, as the cancelled tasks' CancelledError escapes it.
                while (not self.waiting and len(self.processing) < concurrency
                       and not self.closing and not self.forceClosing and not self.paused):
                    token_postfix += 1
                    slot = asyncio.ensure_future(self._slot(f"{self.id}:{token_postfix}"))
                    self.processing.add(slot)
                    slot.add_done_callback(self._slot_done)
                if not self.processing:
                    if self.closing or self.forceClosing:
                        break
                    await asyncio.sleep(0)  # paused: the top of the loop waits for resume
                    continue
                self._wake.clear()
                await self._wake.wait()
        finally:
            # As bullmq's run(): release the timers and slots when the loop ends other than by close().
            self.running = False
            if not self.closing:
                for task in list(self.processing):
                    if not task.done():
                        task.cancel()
                if self.waiting and not self.waiting.done():
                    self.waiting.cancel()
                if self.processing:
                    await asyncio.gather(*self.processing, return_exceptions=True)
                self.processing.clear()
            if self.stalledCheckTimer is not None:
                with contextlib.suppress(Exception):  # bullmq's run() ignores a failing stop too
                    self.stalledCheckTimer.stop()
            await self.lockManager.close()

    async def _slot(self, token: str) -> None:
        async def fetch() -> Job | None:
            # bullmq retries a fetch that lost its connection at once and without end while closing
            # (it only sleeps between tries when not closing): a closing worker fetches nothing.
            if self.closing or self.forceClosing:
                return None
            return await self.getNextJob(token)

        job = await self.retryIfFailed(fetch, {"delay_in_ms": self.opts.get("runRetryDelay"),
                                               "only_emit_error": True})
        if job is not None and len(self.processing) < self.opts.get("concurrency"):
            self._wake.set()  # the queue has jobs again: the loop may start the other slots
        while job is not None:
            job = await self.processJob(job, job.token)

    def _slot_done(self, slot: asyncio.Future[None]) -> None:
        self.processing.discard(slot)
        if not slot.cancelled() and (err := slot.exception()) is not None:
            self.emit("error", err)  # bullmq's loop reports a fetch task's exception the same way
        self._wake.set()

    # -- one job -----------------------------------------------------------------------------------
    async def processJob(self, job: Job, token: str) -> Job | None:
        """bullmq's processJob, completing with fetch-next; returns the job fetched, if any."""
        next_data: list[Any] | None = None
        try:
            if "removeOnComplete" not in job.opts and "removeOnComplete" in self.opts:
                job.opts["removeOnComplete"] = self.opts["removeOnComplete"]
            if "removeOnFail" not in job.opts and "removeOnFail" in self.opts:
                job.opts["removeOnFail"] = self.opts["removeOnFail"]

            self.jobs.add((job, token))
            controller = self.lockManager.track_job(job.id, token, int(time.time() * 1000),
                                                    should_create_controller=self._processor_wants_signal)
            if job.deferredFailure:
                await job.moveToFailed(UnrecoverableError(job.deferredFailure), token)
                self.emit("failed", job, UnrecoverableError(job.deferredFailure))
                return None

            if controller is not None:
                result = await self.processor(job, token, controller.signal)
            else:
                result = await self.processor(job, token)
            if not self.forceClosing:
                # Node asks for the next job unless the worker is closing or paused (worker.ts).
                fetch_next = not (self.closing or self.paused)
                moved = await self._complete(job, result, token, fetch_next)
                job.returnvalue = result
                job.attemptsMade = job.attemptsMade + 1
                if fetch_next:
                    next_data = moved
            self.emit("completed", job, result)
        except (DelayedError, WaitingChildrenError):
            return None
        except Exception as err:
            try:
                if not self.forceClosing:
                    # Node fetches on failure too. bullmq's Job.moveToFailed passes it to the final
                    # failure and the delayed retry (each returns the next job's data); an immediate
                    # retry returns none, and the slot fetches as usual.
                    fetch_next = not (self.closing or self.paused)
                    # bullmq formats the stack with traceback.format_exc(); a storm repeats one
                    # stack, formatted once here (tracebacks.py), to the same text.
                    job.updateStacktrace = functools.partial(record_stacktrace, job, err)
                    if self._completions is not None:
                        # A final failure's moveToFinished goes with the tick's completions too: on
                        # its own it was one more write, and the slots fell out of step (smaller batches).
                        job.backend = BatchedFailure(self.backend, self._completions)
                    try:
                        moved = await job.moveToFailed(err, token, fetch_next)
                    finally:
                        # The partial holds the job and the exception, whose traceback holds this
                        # frame and so the job again: a cycle only the garbage collector frees, which
                        # in a storm cost more CPU than the failure's own Redis call.
                        del job.updateStacktrace
                    if fetch_next and isinstance(moved, list):
                        next_data = moved
                self.emit("failed", job, err)
            except Exception as err:
                self.emit("error", err, job)
        finally:
            self.jobs.discard((job, token))
            self.lockManager.untrack_job(job.id)
        if not next_data:
            return None
        job_data, job_id, limit_until, delay_until = next_data
        try:
            # Applies the rate limit / next delay the script returned and marks the worker drained
            # when there was no job, exactly as after bullmq's own moveToActive.
            next_job: Job | None = await self.nextJobFromJobData(job_data, job_id, limit_until or 0,
                                                                 delay_until or 0, token)
        except Exception as err:
            # The job (if any) is active under our token; its lock expires and the stalled check
            # returns it to the queue.
            self.emit("error", err)
            return None
        if next_job is not None:
            self.emit("active", next_job, "waiting")
        return next_job

    async def _complete(self, job: Job, result: Any, token: str, fetch_next: bool) -> list[Any] | None:
        """``moveToFinished`` to completed, batched with this tick's others; the next job's data."""
        remove = job.opts.get("removeOnComplete", False)
        if self._completions is None:
            moved = await self.backend.moveToCompleted(job, result, remove, token, fetch_next=fetch_next)
            return moved["result"]  # type: ignore[no-any-return]
        keys, args = self.scripts.moveToCompletedArgs(job, result, remove, token, fetch_next)
        raw = await self._completions.call(keys, args)
        # As bullmq's Scripts.moveToFinished: a negative code is a lost lock, a missing job, ...
        if isinstance(raw, int) and raw < 0:
            raise self.scripts.finishedErrors({"code": raw, "jobId": job.id, "command": "moveToFinished",
                                               "state": "active"})
        return raw2NextJobData(raw) if raw is not None else None


class WakingFetchNextWorker(WakeupMixin, FetchNextWorker):
    """For queues of many short jobs (the main queue, the memory queue): Node's one-call
    complete-and-fetch, waking on time for delayed jobs and after idle periods (wakeup.py)."""
