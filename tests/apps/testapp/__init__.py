"""Handlers the test-suite registers: predictable successes, failures and slow jobs."""

import asyncio
import os
import time

from smartworker import current_job, registry


@registry.handler("echo")
def echo(data):
    return {"echo": data, "job": current_job().name if current_job() else None}


@registry.handler("boom")
def boom(data):
    raise ValueError(f"boom: {data.get('why', 'no reason')}")


@registry.handler("flaky")
def flaky(data):
    # Fails until the attempt number reaches data["succeed_on"].
    job = current_job()
    if job is None or job.attempt < int(data["succeed_on"]):
        raise RuntimeError(f"flaky failure on attempt {job.attempt if job else 0}")
    return {"attempt": job.attempt}


@registry.handler("slow")
async def slow(data):
    await asyncio.sleep(float(data.get("seconds", 1)))
    marker = data.get("marker")
    if marker:
        with open(marker, "a") as fh:
            fh.write(f"{os.getpid()} {time.time()}\n")
    return {"slept": data.get("seconds", 1)}


@registry.handler("recorded")
def recorded(data):
    # Each run appends "<job id> <pid> <start time> <attempt>" to the Redis list data["record"], so a
    # test can tell which process ran which job when, and how often (tests/faults/test_worker_recovery.py).
    import redis

    job = current_job()
    with redis.Redis.from_url(data["redis"]) as client:
        client.rpush(data["record"], f"{job.id} {os.getpid()} {time.time()} {job.attempt}")
    if job.attempt <= int(data.get("fail_attempts", 0)):
        raise RuntimeError(f"recorded failure on attempt {job.attempt}")
    time.sleep(float(data.get("seconds", 0)))
    return {"attempt": job.attempt}
