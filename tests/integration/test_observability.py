"""Observability end to end: GET /metrics while jobs run, fail, go to the DLQ and get fixed (real
Redis, bwrap, SMTP and a scripted OpenAI-compatible server), the multi-process files, and traces
received by a real OTLP/HTTP receiver, joined with Node BullMQ's through ``job.opts.telemetry``."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from tests.conftest import require
from tests.fakes import otlp_server, smtp_server
from tests.fakes.openai_server import ScriptedLLM, reply_files
from tests.fakes.otlp_server import ReceivedSpan, Receiver
from tests.integration.test_node_interop import peer
from tests.integration.test_worker import dlq_settled, dlq_total, wait_for

from smartworker import telemetry
from smartworker.config import DEMO_APP_MODULE, DEMO_APP_ROOT, Settings
from smartworker.notify.email import EmailNotifier
from smartworker.reasoning.llm import ChatClient
from smartworker.reasoning.records import FixStatus
from smartworker.reasoning.resolver import Resolver
from smartworker.sandbox.base import create_sandbox
from smartworker.worker import JobWorker

LOGIN = (DEMO_APP_ROOT / "swdemo" / "login.py").read_text()
GOOD_LOGIN = LOGIN.replace('normalise_email(data.get("email"))',
                           'normalise_email(data.get("email") or data.get("username") or "")')
FAILING = {"username": "alice@example.com", "password": "wonderland", "reasoning_fix": True}
PASSING = {"email": "alice@example.com", "password": "wonderland"}
NODE_DIR = Path(__file__).resolve().parents[1] / "node"
SRC = Path(__file__).resolve().parents[2] / "src"

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture
async def parts(make_settings: Any, llm: ScriptedLLM, smtp: tuple[smtp_server.Inbox, int]
                ) -> AsyncIterator[dict[str, Any]]:
    """A service on the demo app (two attempts per job) with a worker, a resolver wired to the
    fakes, and its HTTP API."""
    from smartworker.api.app import create_app
    from smartworker.service import Service

    require(os.path.exists("/usr/bin/bwrap"), "bwrap is not installed (apt-get install bubblewrap)")
    _, port = smtp
    settings = make_settings(root_dir=DEMO_APP_ROOT, app_module=DEMO_APP_MODULE, ai_service_url=llm.url,
                             ai_timeout_s=5.0, ai_max_retries=0, smtp_host="127.0.0.1", smtp_port=port,
                             sandbox_timeout_s=30.0, sandbox_cpu_s=10, ai_candidates=1, job_attempts=2,
                             sandbox_replay_k=0)
    service = await Service.open(settings)
    worker = JobWorker(settings, service.queues, service.registry)
    await worker.start()
    client = ChatClient.from_settings(settings)
    sandbox = create_sandbox(settings)
    resolver = Resolver(settings, service.queues, llm=client, sandbox=sandbox,
                        notifier=EmailNotifier(settings))
    transport = httpx.ASGITransport(app=create_app(service))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        try:
            yield {"service": service, "resolver": resolver, "http": http, "settings": settings}
        finally:
            await worker.close()
            await client.close()
            await sandbox.close()  # its warm spare sessions
            for queue in (service.queues.main, service.queues.dlq, service.queues.reasoning, service.queues.sandbox):
                await queue.obliterate(force=True)
            await service.close()


async def scrape(http: httpx.AsyncClient) -> Samples:
    """GET /metrics, parsed with prometheus_client's own parser."""
    response = await http.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return samples(response.text)


def samples(text: str) -> Samples:
    out: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def value(s: Samples, name: str, **labels: str) -> float:
    return s.get((name, tuple(sorted(labels.items()))), 0.0)


def moved(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


async def run_into_dlq(service: Any, data: dict[str, Any]) -> str:
    before = await dlq_total(service)
    await service.queues.enqueue("login", dict(data))

    async def grew() -> bool:
        return await dlq_settled(service) > before

    await wait_for(grew)
    _, dead = await service.queues.list_dead(1, 1)
    return str(dead[0].id)


# -- metrics ----------------------------------------------------------------------------------------
async def test_metrics_move_as_jobs_run_fail_die_and_get_fixed(parts: dict[str, Any], llm: ScriptedLLM) -> None:
    service, http = parts["service"], parts["http"]
    q = service.queues.names.main
    before = await scrape(http)

    ids = [await service.queues.enqueue("login", dict(PASSING)) for _ in range(3)]

    async def completed() -> bool:
        return all([await service.queues.job_state(i) == "completed" for i in ids])

    await wait_for(completed)
    dlq_id = await run_into_dlq(service, FAILING)
    llm.script(reply_files(("swdemo/login.py", GOOD_LOGIN)), "YES\nIt returns the session.", "Fall back to username.")
    record = await parts["resolver"].resolve(dlq_id)
    assert record.status is FixStatus.FIXED, record.reason
    after = await scrape(http)

    job = {"queue": q, "job_name": "login"}
    assert moved(before, after, "smartworker_jobs_completed_total", **job) == 3
    assert moved(before, after, "smartworker_jobs_retried_total", **job) == 1
    assert moved(before, after, "smartworker_jobs_failed_total", **job) == 1
    assert moved(before, after, "smartworker_jobs_moved_to_dlq_total", **job) == 1
    assert moved(before, after, "smartworker_job_duration_seconds_count", **job, status="completed") == 3
    assert moved(before, after, "smartworker_job_duration_seconds_count", **job, status="failed") == 2
    assert moved(before, after, "smartworker_job_duration_seconds_bucket", **job, status="completed", le="+Inf") == 3
    # Node BullMQ's exporter names and labels, read from Redis at scrape time.
    assert value(after, "bullmq_job_count", queue=f"{q}-dlq", state="waiting") == 1
    assert value(after, "bullmq_job_count", queue=q, state="completed") == 3
    assert value(after, "bullmq_job_count", queue=q, state="active") == 0
    assert value(after, "bullmq_job_completed_total", queue=q) == 3
    assert value(after, "smartworker_workers_online", queue=q) == 1
    assert value(after, "smartworker_redis_up") == 1
    # The repair loop.
    assert moved(before, after, "smartworker_resolutions_total", queue=q, outcome="fixed") == 1
    assert moved(before, after, "smartworker_resolution_duration_seconds_count", queue=q, outcome="fixed") == 1
    assert moved(before, after, "smartworker_resolution_candidates_total", queue=q) == 1
    model = parts["settings"].ai_model_name
    assert moved(before, after, "smartworker_llm_requests_total", model=model) == 3  # fix, review, summary
    assert moved(before, after, "smartworker_llm_tokens_total", model=model, kind="prompt") == record.prompt_tokens
    assert moved(before, after, "smartworker_llm_tokens_total", model=model, kind="completion") == \
        record.completion_tokens
    assert moved(before, after, "smartworker_llm_request_duration_seconds_count", model=model) == 3
    for gate in ("proposal", "hidden_error", "sandbox", "contract_review"):
        assert moved(before, after, "smartworker_gate_checks_total", gate=gate) == 1, gate
        assert moved(before, after, "smartworker_gate_rejections_total", gate=gate) == 0, gate
    # Reproduce once, then the candidate and its variants: every run counted where it ran.
    runs = sum(v - value(before, n, **dict(labels)) for (n, labels), v in after.items()
               if n == "smartworker_sandbox_runs_total")
    assert runs >= 2
    assert moved(before, after, "smartworker_sandbox_runs_total", backend="bwrap", outcome="error") >= 1  # reproduced
    assert moved(before, after, "smartworker_sandbox_run_duration_seconds_count", backend="bwrap") == runs


async def test_a_rejected_candidate_and_a_failed_llm_call_are_counted(parts: dict[str, Any], llm: ScriptedLLM
                                                                     ) -> None:
    from tests.fakes.openai_server import Step

    service, http = parts["service"], parts["http"]
    q = service.queues.names.main
    model = parts["settings"].ai_model_name
    dlq_id = await run_into_dlq(service, FAILING)
    before = await scrape(http)
    llm.script(reply_files(("../outside.py", "x = 1\n")))  # a path outside the app: the proposal gate says no
    assert (await parts["resolver"].resolve(dlq_id)).status is FixStatus.NOT_FIXED
    after = await scrape(http)
    assert moved(before, after, "smartworker_resolutions_total", queue=q, outcome="not_fixed") == 1
    assert moved(before, after, "smartworker_gate_checks_total", gate="proposal") == 1
    assert moved(before, after, "smartworker_gate_rejections_total", gate="proposal") == 1
    assert moved(before, after, "smartworker_gate_checks_total", gate="sandbox") == 0
    assert moved(before, after, "smartworker_llm_requests_total", model=model) == 1

    llm.script(Step(status=400))
    again = await run_into_dlq(service, FAILING)
    assert (await parts["resolver"].resolve(again)).status is FixStatus.NOT_FIXED
    last = await scrape(http)
    assert moved(after, last, "smartworker_llm_errors_total", model=model, error="LLMError") == 1
    assert moved(after, last, "smartworker_llm_requests_total", model=model) == 1
    assert moved(after, last, "smartworker_llm_tokens_total", model=model, kind="prompt") == 0


async def test_metrics_need_a_viewer_key_once_keys_exist(parts: dict[str, Any]) -> None:
    from smartworker import keys
    from smartworker.auth import ApiKeys, Role

    service, http = parts["service"], parts["http"]
    store = ApiKeys(service.queues.redis, keys.access_prefix(service.queues.names.main))
    _, secret = await store.create(Role.VIEWER, "prometheus")
    assert (await http.get("/metrics")).status_code == 401
    response = await http.get("/metrics", headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 200 and "bullmq_job_count" in response.text


async def test_memory_metrics(store: Any, service: Any) -> None:
    """Occurrences and search latency counted, stored failures read from PostgreSQL at scrape time."""
    from tests.integration.memory_cases import BUGS, build

    from smartworker.api.app import create_app

    service.memory = store
    transport = httpx.ASGITransport(app=create_app(service))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        before = await scrape(http)
        await store.remember_failure(build(BUGS[0], 0, "m-1"))
        await store.remember_failure(build(BUGS[0], 0, "m-1"))  # the same job again: one failure stored
        await store.remember_failure(build(BUGS[1], 0, "m-2"))
        await store.search(build(BUGS[0], 1, "m-3"))
        after = await scrape(http)
    service.memory = None
    assert moved(before, after, "smartworker_memory_occurrences_total") == 3
    assert moved(before, after, "smartworker_memory_search_duration_seconds_count") == 1
    assert value(after, "smartworker_memory_failures") == 2
    assert value(after, "smartworker_memory_up") == 1


def test_metrics_of_several_processes_are_added_up(tmp_path: Path) -> None:
    """Two processes count into one directory; a third (the API's) serves their sum."""
    directory = tmp_path / "metrics"
    count = textwrap.dedent(f"""
        import sys
        from pathlib import Path
        from smartworker import metrics
        from smartworker.config import Settings
        metrics.setup(Settings(_env_file=None, PROMETHEUS_MULTIPROC_DIR={str(directory)!r}), Path({str(tmp_path)!r}))
        for _ in range(int(sys.argv[1])):
            metrics.moved_to_dlq("q", "job")
        print("counted", flush=True)
        sys.stdin.readline()
    """)
    render = textwrap.dedent(f"""
        from pathlib import Path
        from smartworker import metrics
        from smartworker.api.metrics import Snapshot, render
        from smartworker.config import Settings
        metrics.setup(Settings(_env_file=None, PROMETHEUS_MULTIPROC_DIR={str(directory)!r}), Path({str(tmp_path)!r}))
        metrics.moved_to_dlq("q", "job")
        print(render(Snapshot(), "q").decode())
    """)
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"} | {"PYTHONPATH": str(SRC)}
    workers = [subprocess.Popen([sys.executable, "-c", count, str(n)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                text=True, env=env) for n in (2, 3)]
    try:
        for worker in workers:
            assert worker.stdout is not None and worker.stdout.readline().strip() == "counted"
        text = subprocess.run([sys.executable, "-c", render], capture_output=True, text=True, env=env, check=True,
                              timeout=60).stdout
    finally:
        for worker in workers:
            worker.communicate("\n", timeout=30)
    assert value(samples(text), "smartworker_jobs_moved_to_dlq_total", queue="q", job_name="job") == 6


# -- traces -----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    """A real OTLP/HTTP receiver; tracing is on in this process while the module runs."""
    with otlp_server.running() as state:
        telemetry.setup(Settings(_env_file=None, OTEL_EXPORTER_OTLP_ENDPOINT=state.url,  # type: ignore[call-arg]
                                 OTEL_SERVICE_NAME="smartworker-test"))
        try:
            yield state
        finally:
            telemetry.shutdown()


async def spans_where(receiver: Receiver, check: Any, timeout: float = 15.0) -> list[ReceivedSpan]:
    """Flush, then wait until ``check(receiver)`` returns a non-empty list of spans."""

    async def found() -> Any:
        await asyncio.to_thread(telemetry.flush)
        return check(receiver)

    result: list[ReceivedSpan] = await wait_for(found, timeout)
    return result


async def test_producer_and_consumer_spans_share_the_trace(receiver: Receiver, parts: dict[str, Any]) -> None:
    service = parts["service"]
    q = service.queues.names.main
    job_id = await service.queues.enqueue("login", dict(PASSING))
    consumer = (await spans_where(receiver, lambda r: [s for s in r.named(f"process {q}")
                                                        if s.attributes.get("bullmq.job.id") == job_id]))[0]
    producer = next(s for s in receiver.named(f"add {q}.login") if s.attributes.get("bullmq.job.id") == job_id)
    assert producer.kind == "PRODUCER" and consumer.kind == "CONSUMER"
    assert producer.service == "smartworker-test"
    assert consumer.trace_id == producer.trace_id and consumer.parent_span_id == producer.span_id
    assert producer.attributes["messaging.system"] == "bullmq"
    assert producer.attributes["messaging.operation.type"] == "send"
    assert producer.attributes["messaging.destination.name"] == q
    assert consumer.attributes["messaging.operation.type"] == "process"
    assert consumer.attributes["messaging.message.id"] == job_id
    assert consumer.attributes["bullmq.job.name"] == "login" and not consumer.error
    # The job keeps its context where Node BullMQ keeps it: opts "tm", a JSON carrier.
    stored = json.loads(await service.queues.redis.hget(f"bull:{q}:{job_id}", "opts"))
    version, trace_id, span_id, flags = json.loads(stored["tm"])["traceparent"].split("-")
    assert (version, trace_id, span_id) == ("00", producer.trace_id, producer.span_id) and int(flags, 16) & 1


async def test_the_repair_loop_is_a_child_of_the_dead_jobs_trace(receiver: Receiver, parts: dict[str, Any],
                                                                  llm: ScriptedLLM) -> None:
    service = parts["service"]
    q = service.queues.names.main
    dlq_id = await run_into_dlq(service, FAILING)
    dead = await service.queues.dead_job(dlq_id)
    assert dead is not None
    producer = (await spans_where(receiver, lambda r: [s for s in r.named(f"add {q}.login")
                                                        if s.attributes.get("bullmq.job.id") == dead.job_id]))[0]
    llm.script(reply_files(("swdemo/login.py", GOOD_LOGIN)), "YES\nIt returns the session.", "Fall back to username.")
    record = await parts["resolver"].resolve(dlq_id)
    assert record.status is FixStatus.FIXED, record.reason

    def loop(r: Receiver) -> list[ReceivedSpan]:
        spans = r.in_trace(producer.trace_id)
        return spans if any(s.name == "email" for s in spans) else []

    trace = await spans_where(receiver, loop)
    by_name: dict[str, list[ReceivedSpan]] = {}
    for span in trace:
        by_name.setdefault(span.name, []).append(span)
    consumers = by_name[f"process {q}"]
    assert len(consumers) == 2 and all(c.parent_span_id == producer.span_id for c in consumers)
    assert sum(c.error for c in consumers) == 2
    resolve = by_name[f"resolve {q}.login"][0]
    assert resolve.parent_span_id == producer.span_id
    assert resolve.attributes["smartworker.resolution.outcome"] == "fixed"
    assert resolve.attributes["smartworker.fix.id"] == record.id
    reproduce = by_name["reproduce"][0]
    assert reproduce.parent_span_id == resolve.span_id
    assert any(s.parent_span_id == reproduce.span_id for s in by_name["sandbox bwrap"])
    chats = by_name[f"chat {parts['settings'].ai_model_name}"]
    assert len(chats) == 3 and all(c.kind == "CLIENT" and c.parent_span_id == resolve.span_id for c in chats)
    assert sum(int(c.attributes["gen_ai.usage.input_tokens"]) for c in chats) == record.prompt_tokens
    for gate in ("proposal", "hidden_error", "sandbox", "contract_review"):
        span = by_name[f"gate {gate}"][0]
        assert span.parent_span_id == resolve.span_id and span.attributes["smartworker.gate.passed"] is True, gate
    verdict = by_name["gate sandbox"][0]
    assert any(s.parent_span_id == verdict.span_id for s in by_name["sandbox bwrap"])
    assert by_name["email"][0].parent_span_id == resolve.span_id


async def test_a_retried_dead_job_is_a_message_of_its_own(receiver: Receiver, parts: dict[str, Any],
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    service = parts["service"]
    q = service.queues.names.main
    dlq_id = await run_into_dlq(service, {**FAILING, "reasoning_fix": False})
    dead = await service.queues.dead_job(dlq_id)
    assert dead is not None and "tm" in dead.opts  # the DLQ keeps the dead job's context (the repair loop's parent)
    capsys.readouterr()
    new_id = await service.queues.retry_dead(dlq_id)
    assert "dropped on retry" not in capsys.readouterr().out  # its trace context is no bad option
    stored = json.loads(await service.queues.redis.hget(f"bull:{q}:{new_id}", "opts"))
    assert json.loads(stored["tm"])["traceparent"] != json.loads(dead.opts["tm"])["traceparent"]
    assert stored["attempts"] == 2


async def test_log_lines_carry_the_trace_and_span_ids(receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    """Through the production log pipeline (JSON, redaction), as the processes configure it."""
    import io
    import logging

    import structlog

    from smartworker.logs import configure, get_logger

    out = io.StringIO()
    handlers, level = logging.root.handlers[:], logging.root.level
    monkeypatch.setattr(sys, "stderr", out)
    configure(production=True, level="info")
    try:
        with telemetry.span("work") as current:
            assert current is not None
            get_logger("test").info("inside a span")
            ctx = current.get_span_context()
        get_logger("test").info("outside any span")
    finally:
        structlog.reset_defaults()
        logging.root.handlers[:] = handlers
        logging.root.setLevel(level)
    inside, outside = (json.loads(line) for line in out.getvalue().splitlines())
    assert inside["trace_id"] == format(ctx.trace_id, "032x") and inside["span_id"] == format(ctx.span_id, "016x")
    assert "trace_id" not in outside and "span_id" not in outside


# -- Node BullMQ --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def node() -> str:
    path = shutil.which("node")
    require(path is not None, "node is not installed")
    require((NODE_DIR / "node_modules" / "bullmq-otel").is_dir(), "run `npm install` in tests/node (make test does)")
    assert path is not None
    return path


async def test_a_node_producers_trace_continues_in_our_worker(receiver: Receiver, parts: dict[str, Any],
                                                              node: str) -> None:
    service = parts["service"]
    q = service.queues.names.main
    added = json.loads(await peer(node, "produce-traced", service.queues.redis_url, q, "login", json.dumps(PASSING)))
    _, trace_id, span_id, _ = json.loads(added["metadata"])["traceparent"].split("-")
    consumer = (await spans_where(receiver, lambda r: [s for s in r.named(f"process {q}")
                                                        if s.attributes.get("bullmq.job.id") == added["id"]]))[0]
    assert consumer.trace_id == trace_id and consumer.parent_span_id == span_id


async def test_our_trace_continues_in_a_node_worker(receiver: Receiver, parts: dict[str, Any], node: str) -> None:
    service = parts["service"]
    other = f"{service.queues.names.main}-node"
    from bullmq import Queue

    queue = Queue(other, {"connection": service.queues.redis})
    consuming = asyncio.ensure_future(peer(node, "consume-traced", service.queues.redis_url, other))
    try:
        job = await telemetry.produce(queue, "anything", {"n": 1}, {"attempts": 1})
        seen = json.loads(await consuming)
        producer = (await spans_where(receiver, lambda r: r.named(f"add {other}.anything")))[0]
        assert seen["id"] == str(job.id)
        assert seen["traceId"] == producer.trace_id and seen["parentSpanId"] == producer.span_id
    finally:
        await queue.obliterate(force=True)
        await queue.close()
