"""FetchNextWorker on a three-node Redis Cluster on loopback, with a hash-tagged prefix as BullMQ requires.

SmartWorker itself connects with a single-node client (README, "Scaling out"); this shows the worker
patch keeps bullmq's cluster support. Skipped when redis-server or redis-cli is missing or the
cluster does not form within a few seconds.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from bullmq import Job, Queue
from redis.asyncio.cluster import RedisCluster
from tests.e2e.conftest import free_port

from smartworker.fetch_next import FetchNextWorker

FORM_TIMEOUT_S = 15.0


def _ports(count: int) -> list[int]:
    ports: list[int] = []
    while len(ports) < count:
        port = free_port()
        if port + 10000 < 65536 and port not in ports:  # the cluster bus listens on port + 10000
            ports.append(port)
    return ports


@pytest.fixture
def cluster() -> Iterator[int]:
    """Three masters on loopback; yields one node's port."""
    server, cli = shutil.which("redis-server"), shutil.which("redis-cli")
    if server is None or cli is None:
        pytest.skip("redis-server / redis-cli are not installed")
    base = Path(tempfile.mkdtemp(prefix="sw-cluster-"))
    ports = _ports(3)
    nodes: list[subprocess.Popen[bytes]] = []
    try:
        for port in ports:
            (base / str(port)).mkdir()
            nodes.append(subprocess.Popen(
                [server, "--port", str(port), "--bind", "127.0.0.1", "--cluster-enabled", "yes",
                 "--cluster-config-file", "nodes.conf", "--save", "", "--appendonly", "no",
                 "--logfile", "redis.log"], cwd=base / str(port), stdout=subprocess.DEVNULL))
        deadline = time.monotonic() + FORM_TIMEOUT_S
        while any(subprocess.run([cli, "-p", str(p), "ping"], capture_output=True, text=True).stdout.strip() != "PONG"
                  for p in ports):
            if time.monotonic() > deadline:
                pytest.skip("redis-server did not start in cluster mode")
            time.sleep(0.1)
        created = subprocess.run([cli, "--cluster", "create", *(f"127.0.0.1:{p}" for p in ports),
                                  "--cluster-replicas", "0", "--cluster-yes"], capture_output=True, text=True,
                                 timeout=FORM_TIMEOUT_S)
        if created.returncode != 0:
            pytest.skip(f"redis-cli --cluster create failed: {created.stdout[-300:]}")
        while "cluster_state:ok" not in subprocess.run([cli, "-p", str(ports[0]), "cluster", "info"],
                                                       capture_output=True, text=True).stdout:
            if time.monotonic() > deadline:
                pytest.skip(f"the cluster did not form within {FORM_TIMEOUT_S}s")
            time.sleep(0.1)
        yield ports[0]
    finally:
        for node in nodes:
            node.terminate()
        for node in nodes:
            node.wait(10)
        shutil.rmtree(base, ignore_errors=True)


async def test_jobs_and_retries_on_a_three_node_cluster(cluster: int) -> None:
    name = f"fn-cluster-{uuid.uuid4().hex[:6]}"
    prefix = "{bull}"  # one hash slot for every key of the queue
    producer = RedisCluster(host="127.0.0.1", port=cluster, decode_responses=True)
    consumer = RedisCluster(host="127.0.0.1", port=cluster, decode_responses=True)
    queue = Queue(name, {"connection": producer, "prefix": prefix})
    n = 60
    ids = [(await queue.add("n", {"i": i})).id for i in range(n)]
    failing = (await queue.add("fail", {}, {"attempts": 2})).id
    settled = asyncio.Event()
    outcomes: list[str] = []

    def record(job: Job, *_: object) -> None:
        outcomes.append(job.id)
        if len(outcomes) == n + 2:  # every success, and both attempts of the failing job
            settled.set()

    async def process(job: Job, token: str) -> int:
        if job.name == "fail":
            raise ValueError("fails every time")
        return int(job.data["i"])

    worker = FetchNextWorker(name, process, {"connection": consumer, "prefix": prefix, "concurrency": 5})
    worker.on("completed", record)
    worker.on("failed", record)
    try:
        await asyncio.wait_for(settled.wait(), 30)
        assert await queue.getCompletedCount() == n
        assert await queue.getJobState(failing) == "failed"
        stored = await Job.fromId(queue, ids[7])
        assert stored is not None and stored.returnvalue == 7
        failed = await Job.fromId(queue, failing)
        assert failed is not None and failed.attemptsMade == 2
    finally:
        await worker.close()
        await queue.obliterate(force=True)
        await queue.close()
        await producer.aclose()
