"""`smartworker up` as operators watch it: GET /metrics over HTTP with a bearer key, the
multi-process files under the data dir, spans at a real OTLP/HTTP receiver, trace ids in the logs."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from tests.fakes import otlp_server
from tests.fakes.otlp_server import Receiver
from tests.faults.conftest import start_smartworker
from tests.waiting import poll

KEY = "observability-admin-key-0123456789"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with otlp_server.running() as state:
        yield state


def counters(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_up_serves_metrics_traces_and_trace_ids(redis_url: str, queue_name: str, tmp_path: Path,
                                                 receiver: Receiver) -> None:
    procs: list[subprocess.Popen[str]] = []
    log = tmp_path / "up.log"
    data = tmp_path / "data"
    try:
        _, base = start_smartworker("up", {
            "REDIS_URL": redis_url, "APP_QUEUE_NAME": queue_name, "APP_DATA_DIR": str(data), "APP_API_KEY": KEY,
            "NODE_ENV": "production", "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url, "OTEL_BSP_SCHEDULE_DELAY": "200",
            "JOB_BACKOFF_MS": "10"}, procs, log)
        auth = {"Authorization": f"Bearer {KEY}"}
        assert httpx.get(f"{base}/metrics", timeout=10).status_code == 401
        ids = [httpx.post(f"{base}/job", json={"name": name, "data": {"n": i}, "opts": {"attempts": 2}}, headers=auth,
                          timeout=10).json()["id"] for i, name in enumerate(("echo", "echo", "boom"))]

        def scraped() -> dict[tuple[str, tuple[tuple[str, str], ...]], float] | None:
            response = httpx.get(f"{base}/metrics", headers=auth, timeout=10)
            assert response.status_code == 200
            found = counters(response.text)
            dead = ("smartworker_jobs_moved_to_dlq_total", (("job_name", "boom"), ("queue", queue_name)))
            return found if found.get(dead) == 1 else None

        found = poll(scraped)
        job = (("job_name", "echo"), ("queue", queue_name))
        assert found[("smartworker_jobs_completed_total", job)] == 2
        assert found[("smartworker_jobs_retried_total", (("job_name", "boom"), ("queue", queue_name)))] == 1
        assert found[("smartworker_jobs_failed_total", (("job_name", "boom"), ("queue", queue_name)))] == 1
        assert found[("bullmq_job_count", (("queue", f"{queue_name}-dlq"), ("state", "waiting")))] == 1
        assert found[("smartworker_workers_online", (("queue", queue_name),))] == 1
        assert list((data / "metrics").glob("counter_*.db")), "the worker's counters live in files under the data dir"

        def consumed() -> list[otlp_server.ReceivedSpan]:  # both attempts (spans arrive in batches)
            spans = [s for s in receiver.named(f"process {queue_name}") if s.attributes.get("bullmq.job.id") == ids[2]]
            return spans if len(spans) == 2 else []

        boom = poll(consumed)
        producer = next(s for s in receiver.named(f"add {queue_name}.boom") if s.attributes["bullmq.job.id"] == ids[2])
        assert producer.service == "smartworker" and producer.kind == "PRODUCER"
        assert {s.trace_id for s in boom} == {producer.trace_id} and len(boom) == 2 and all(s.error for s in boom)
        # The worker's warning for the failed attempt carries the ids of the consumer span it ran in.
        lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
        failed = [line for line in lines if line.get("event") == "job failed" and line.get("job_id") == ids[2]]
        assert {(line["trace_id"], line["span_id"]) for line in failed} == {(s.trace_id, s.span_id) for s in boom}
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(30)
