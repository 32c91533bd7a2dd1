"""GET /metrics during a Redis outage: fast answers that say Redis is down, then the counts again.

Stored API keys live in Redis, so only a key given in the environment (APP_API_KEY) can be checked
while it is down: that scraper gets a 200 with ``smartworker_redis_up 0``. (A stored key, or an open
API deciding it is open, gets the fast 503 naming Redis that every route gives then.)
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families
from tests.faults.conftest import OwnRedis, start_smartworker

KEY = "metrics-outage-admin-key-0123456789"


def gauges(text: str) -> dict[str, float]:
    return {s.name: s.value for family in text_string_to_metric_families(text) for s in family.samples
            if not s.labels}


def test_metrics_answer_during_a_redis_outage(own_redis: OwnRedis, procs: list[subprocess.Popen[str]],
                                              tmp_path: Path, queue_name: str) -> None:
    _, base = start_smartworker("up", {"REDIS_URL": own_redis.url, "APP_QUEUE_NAME": queue_name, "APP_API_KEY": KEY,
                                       "APP_DATA_DIR": str(tmp_path / "data")}, procs, tmp_path / "up.log")
    with httpx.Client(base_url=base, timeout=30, headers={"Authorization": f"Bearer {KEY}"}) as http:
        up = http.get("/metrics")
        assert up.status_code == 200 and gauges(up.text)["smartworker_redis_up"] == 1
        assert 'bullmq_job_count{queue="' + queue_name + '",state="waiting"} 0.0' in up.text

        own_redis.stop()
        started = time.monotonic()
        down = http.get("/metrics")
        took = time.monotonic() - started
        assert down.status_code == 200, down.text
        assert gauges(down.text)["smartworker_redis_up"] == 0
        assert "bullmq_job_count{" not in down.text  # no stale or made-up counts
        assert took < 10, f"a scrape during the outage took {took:.1f} s"
        assert httpx.get(f"{base}/metrics", timeout=30).status_code == 401  # still no way in without the key

        own_redis.start()
        deadline = time.monotonic() + 30
        while gauges(http.get("/metrics").text)["smartworker_redis_up"] != 1:
            assert time.monotonic() < deadline, "the counts did not come back after Redis did"
            time.sleep(0.2)
