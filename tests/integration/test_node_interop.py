"""Wire compatibility with Node's BullMQ (npm ``bullmq``) on the same Redis and queue."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import require
from tests.integration.test_worker import wait_for

from smartworker.worker import JobWorker

NODE_DIR = Path(__file__).resolve().parents[1] / "node"


@pytest.fixture(scope="module")
def node() -> str:
    path = shutil.which("node")
    require(path is not None, "node is not installed")
    require((NODE_DIR / "node_modules" / "bullmq").is_dir(), "run `npm install` in tests/node (make test does)")
    assert path is not None
    return path


async def peer(node: str, *args: str, timeout: float = 30) -> str:
    proc = await asyncio.create_subprocess_exec(node, str(NODE_DIR / "peer.mjs"), *args,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), timeout)
    assert proc.returncode == 0, err.decode()
    return out.decode()


async def test_node_producer_python_worker(node: str, service: Any) -> None:
    queue = service.queues.names.main
    url = service.queues.redis_url
    node_id = (await peer(node, "produce", url, queue, "echo", json.dumps({"from": "node", "n": 7}))).strip()
    worker = JobWorker(service.settings, service.queues, service.registry)
    await worker.start()
    try:
        async def done() -> Any:
            view = await service.queues.describe(node_id)
            return view if view["state"] == "completed" else None

        view = await wait_for(done)
        assert view["result"] == {"echo": {"from": "node", "n": 7}, "job": "echo"}
        # Node reads the completed job and our return value back.
        seen = json.loads(await peer(node, "result", url, queue, node_id))
        assert seen == {"state": "completed", "returnvalue": {"echo": {"from": "node", "n": 7}, "job": "echo"}}
    finally:
        await worker.close()


async def test_node_job_failing_in_python_lands_in_dlq(node: str, service: Any) -> None:
    queue = service.queues.names.main
    node_id = (await peer(node, "produce", service.queues.redis_url, queue, "boom", "{}")).strip()
    worker = JobWorker(service.settings, service.queues, service.registry)
    await worker.start()
    try:
        async def dead() -> Any:
            total, jobs = await service.queues.list_dead(1, 5)
            return jobs if total else None

        jobs = await wait_for(dead)
        assert jobs[0].job_id == node_id and jobs[0].attempts_made == 2
    finally:
        await worker.close()


async def test_python_producer_node_worker(node: str, service: Any) -> None:
    ids = [await service.queues.enqueue("anything", {"i": i, "big": str(2**60)}) for i in range(3)]
    lines = (await peer(node, "consume", service.queues.redis_url, service.queues.names.main, "3")).splitlines()
    seen = [json.loads(line) for line in lines]
    assert sorted(s["id"] for s in seen) == sorted(ids)
    assert all(s["attempts"] == service.settings.job_attempts for s in seen)
    assert {s["data"]["big"] for s in seen} == {str(2**60)}
    for job_id in ids:
        view = await service.queues.describe(job_id)
        assert view["state"] == "completed" and view["result"] == {"handledBy": "node", "name": "anything"}
