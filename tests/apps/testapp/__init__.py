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
