"""Heal: once a fix runs (applied or deployed), retry every dead job with the fix's handler and failure
signature into its original queue, one bounded batch at a time, and count how many complete.

A heal is a chain of short steps on the reasoning queue (durable BullMQ jobs, so a crash loses none):
each step settles the current batch (completed, failed again, or still running) and, once it has
settled, retries the next. It waits first for the live workers to load the changed code (reload.py),
and it stops when a whole batch heals nothing, leaving the rest in the DLQ. A retried job's id names
the fix (``heal__<fix>__<job>``), so one that fails again returns to the DLQ under an id that links
it to the fix, and the fix's record lists it.
"""

from __future__ import annotations

from typing import Any, cast

from smartworker import keys
from smartworker.config import Settings
from smartworker.jobs import JobStatus
from smartworker.logs import get_logger
from smartworker.queues import DeadJob, Queues, now_ms
from smartworker.reasoning.context import error_signature, last_traceback, split_failure
from smartworker.reasoning.records import FixRecord

log = get_logger(__name__)

#: Name of a heal step on the reasoning queue.
HEAL_STEP = "heal"
#: How long a heal waits for every live worker to load the changed code before it retries anyway.
LOAD_WAIT_MS = 30_000
#: Pause between steps while a batch is still running.
STEP_DELAY_MS = 1000
#: Dead jobs read per page when looking for the ones a fix covers.
SCAN_PAGE = 500
#: How long a step waits for the fix's lock (a review step may hold it briefly).
LOCK_WAIT_S = 10.0


def dead_signature(dead: DeadJob) -> str:
    """A dead job's failure signature, computed as the resolver computes it."""
    exception_type, message = split_failure(dead.failed_reason, last_traceback(dead.stacktrace))
    return error_signature(exception_type, message)


async def covered(queues: Queues, record: FixRecord) -> list[str]:
    """DLQ ids of the dead jobs a fix covers: same handler, same signature, not already a retry of it."""
    own = keys.heal_job_id(record.id, "")
    found: list[str] = []
    page = 1
    while True:
        total, dead = await queues.list_dead(page, SCAN_PAGE)
        found += [d.id for d in dead if d.name == record.job_name and not d.job_id.startswith(own)
                  and dead_signature(d) == record.signature]
        if not dead or page * SCAN_PAGE >= total:
            return found
        page += 1


async def start_heal(queues: Queues, record: FixRecord, code_generation: int) -> int:
    """Take on the dead jobs the fix covers that no heal of it took yet, and run the heal until they are
    retried. Call with the fix's lock held. Returns how many dead jobs were added."""
    redis = queues.redis
    new: list[str] = []
    for dlq_id in await covered(queues, record):
        if await redis.sadd(keys.fix_heal_seen(record.id), dlq_id):
            new.append(dlq_id)
    state = await redis.hget(keys.fix_heal(record.id), "state")
    async with redis.pipeline(transaction=True) as pipe:
        if new:
            pipe.rpush(keys.fix_heal_todo(record.id), *new)
        pipe.hincrby(keys.fix_heal(record.id), "total", len(new))
        pipe.hset(keys.fix_heal(record.id), mapping={"state": "waiting", "generation": code_generation,
                                                     "since": now_ms(), "note": ""})
        await pipe.execute()
    if state not in ("waiting", "running"):  # no chain of steps runs for this fix: start one
        await _next_step(queues, record.id, delay_ms=0)
    log.info("heal started", fix_id=record.id, added=len(new))
    return len(new)


async def heal_step(queues: Queues, settings: Settings, data: dict[str, Any]) -> dict[str, Any]:
    """One step of a heal (a job on the reasoning queue)."""
    fix_id = str(data.get("fixId", ""))
    lock = queues.redis.lock(keys.fix_lock(fix_id), timeout=60, blocking_timeout=LOCK_WAIT_S)
    if not await lock.acquire():
        await _next_step(queues, fix_id)
        return {"fix": fix_id, "state": "busy"}
    try:
        state = await _step(queues, settings, fix_id)
    finally:
        await lock.release()
    return {"fix": fix_id, "state": state}


async def _step(queues: Queues, settings: Settings, fix_id: str) -> str:
    redis = queues.redis
    heal = keys.fix_heal(fix_id)
    progress = await redis.hgetall(heal)
    state = str(progress.get("state", ""))
    if state not in ("waiting", "running"):
        return state or "none"
    if state == "waiting":
        if not await _code_loaded(queues, int(progress.get("generation", 0)), int(progress.get("since", 0))):
            await _next_step(queues, fix_id)
            return state
        await redis.hset(heal, "state", "running")
    if await _settle(queues, fix_id):  # the batch still runs
        await _next_step(queues, fix_id)
        return "running"
    progress = await redis.hgetall(heal)
    batch, batch_healed = int(progress.get("batch", 0)), int(progress.get("batch_healed", 0))
    left = int(await redis.llen(keys.fix_heal_todo(fix_id)))
    if batch and not batch_healed:
        note = f"stopped: the last batch healed 0 of {batch}; {left} dead jobs stay in the DLQ"
        await redis.hset(heal, mapping={"state": "stopped", "note": note, "batch": 0})
        log.warning("heal stopped", fix_id=fix_id, batch=batch, left=left)
        return "stopped"
    ids = cast(list[str] | None, await redis.lpop(keys.fix_heal_todo(fix_id), settings.fix_heal_batch)) or []
    if not ids:
        healed, total = int(progress.get("healed", 0)), int(progress.get("total", 0))
        await redis.hset(heal, mapping={"state": "done", "note": f"healed {healed} of {total}", "batch": 0})
        log.info("heal finished", fix_id=fix_id, healed=healed, total=total)
        return "done"
    retried = gone = 0
    for dlq_id in ids:
        dead = await queues.dead_job(dlq_id)
        if dead is None:  # retried or removed by someone meanwhile
            gone += 1
            continue
        new_id = keys.heal_job_id(fix_id, dead.job_id)
        # Noted before the retry: a step repeated after a crash finds it and adds nothing twice.
        await redis.hset(keys.fix_heal_inflight(fix_id), new_id, dlq_id)
        await queues.retry_dead(dlq_id, job_id=new_id)
        retried += 1
    async with redis.pipeline(transaction=True) as pipe:
        pipe.hincrby(heal, "retried", retried)
        pipe.hincrby(heal, "gone", gone)
        pipe.hset(heal, mapping={"batch": retried, "batch_healed": 0})
        await pipe.execute()
    await _next_step(queues, fix_id)
    return "running"


async def _settle(queues: Queues, fix_id: str) -> int:
    """Count the current batch's jobs that finished; returns how many still run."""
    redis = queues.redis
    inflight = await redis.hgetall(keys.fix_heal_inflight(fix_id))
    heal = keys.fix_heal(fix_id)
    running = 0
    for job_id in map(str, inflight):
        status = await queues.job_state(job_id)
        dlq_id = keys.dlq_job_id(queues.names.main, job_id)
        if status is JobStatus.COMPLETED:
            outcome = "healed"
        elif status is JobStatus.UNKNOWN and await queues.dead_job(dlq_id) is not None:
            outcome = "failed"
        elif status is JobStatus.UNKNOWN:
            outcome = "gone"  # completed and already trimmed, or removed: not claimed as healed
        else:
            running += 1
            continue
        async with redis.pipeline(transaction=True) as pipe:
            pipe.hincrby(heal, outcome, 1)
            if outcome == "healed":
                pipe.hincrby(heal, "batch_healed", 1)
            if outcome == "failed":
                pipe.rpush(keys.fix_heal_failed(fix_id), dlq_id)
            pipe.hdel(keys.fix_heal_inflight(fix_id), job_id)
            await pipe.execute()
    return running


async def _code_loaded(queues: Queues, generation: int, since: int) -> bool:
    """True when every live job worker has loaded code generation ``generation`` (or waited long enough)."""
    from smartworker.worker import HEARTBEAT_STALE_MS

    if now_ms() - since > LOAD_WAIT_MS:
        return True
    live = cast(list[str], await queues.redis.zrangebyscore(keys.worker_heartbeat(queues.names.main),
                                                            now_ms() - HEARTBEAT_STALE_MS, "+inf"))
    loaded = await queues.redis.hgetall(keys.code_loaded(queues.names.main))
    return all(int(loaded.get(worker, -1)) >= generation for worker in live)


async def _next_step(queues: Queues, fix_id: str, delay_ms: int = STEP_DELAY_MS) -> None:
    step = int(await queues.redis.hincrby(keys.fix_heal(fix_id), "step", 1))
    opts = {"jobId": keys.heal_step_id(fix_id, step), "delay": delay_ms, "attempts": 5,
            "backoff": {"type": "exponential", "delay": 1000}, "removeOnComplete": True, "removeOnFail": 100}
    await queues.reasoning.add(HEAL_STEP, {"fixId": fix_id}, cast(Any, opts))
