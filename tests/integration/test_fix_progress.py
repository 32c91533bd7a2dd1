"""The demo job through the repair loop: live progress on the running fix record (GET /fixes/{id}),
and the report of a job that was not fixed. Real Redis, bwrap, SMTP and an HTTP server speaking the
OpenAI chat API with scripted replies."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from email.message import Message
from typing import Any

import httpx
import pytest
from tests.conftest import require
from tests.fakes import smtp_server
from tests.fakes.openai_server import ScriptedLLM, Step, reply_files
from tests.integration.test_worker import dlq_settled, wait_for

from smartworker.api.routes import DEMO_JOB
from smartworker.config import DEMO_APP_MODULE, DEMO_APP_ROOT
from smartworker.notify.email import EmailNotifier
from smartworker.reasoning.llm import ChatClient
from smartworker.reasoning.records import FixRecord
from smartworker.reasoning.resolver import Resolver
from smartworker.sandbox.base import create_sandbox
from smartworker.worker import JobWorker

REMEMBER = (DEMO_APP_ROOT / "swdemo" / "remember.py").read_text()
BUG = '"device:" + account["id"] + ":" + kind'
GOOD_REMEMBER = REMEMBER.replace(BUG, 'f"device:{account[\'id\']}:{kind}"')
#: Changes the line but still adds an int to a str: the job fails as before.
STILL_FAILING = REMEMBER.replace(BUG, '"device:" + account["id"] + ":" + str(kind)')


@pytest.fixture
async def demo(make_settings: Any, llm: ScriptedLLM, smtp: tuple[smtp_server.Inbox, int]
               ) -> AsyncIterator[dict[str, Any]]:
    """The demo app with a worker, a resolver on the fakes (two candidates) and the HTTP API."""
    from smartworker.api.app import create_app
    from smartworker.service import Service

    require(os.path.exists("/usr/bin/bwrap"), "bwrap is not installed (apt-get install bubblewrap)")
    inbox, port = smtp
    inbox.messages.clear()
    settings = make_settings(root_dir=DEMO_APP_ROOT, app_module=DEMO_APP_MODULE, ai_service_url=llm.url,
                             ai_timeout_s=30.0, ai_max_retries=0, ai_candidates=2, smtp_host="127.0.0.1",
                             smtp_port=port, sandbox_timeout_s=5.0, sandbox_cpu_s=3, job_attempts=1)
    service = await Service.open(settings)
    worker = JobWorker(settings, service.queues, service.registry)
    await worker.start()
    client = ChatClient.from_settings(settings)
    sandbox = create_sandbox(settings)
    resolver = Resolver(settings, service.queues, llm=client, sandbox=sandbox,
                        notifier=EmailNotifier(settings))
    transport = httpx.ASGITransport(app=create_app(service))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield {"service": service, "resolver": resolver, "inbox": inbox, "http": http}
    finally:
        await worker.close()
        await client.close()
        await sandbox.close()  # its warm spare sessions
        for queue in (service.queues.main, service.queues.dlq, service.queues.reasoning):
            await queue.obliterate(force=True)
        await service.close()


async def fail_demo_job(service: Any) -> str:
    """The demo job (as ``GET /`` enqueues it) run into the DLQ; its DLQ id."""
    await service.queues.enqueue("login", dict(DEMO_JOB))
    await wait_for(lambda: _dead(service))
    _, dead = await service.queues.list_dead(1, 1)
    assert "can only concatenate str" in str(dead[0].failed_reason)  # a code bug, not a refusal of the input
    return str(dead[0].id)


async def _dead(service: Any) -> bool:
    return await dlq_settled(service) >= 1


async def running_record(http: httpx.AsyncClient) -> dict[str, Any] | None:
    page = (await http.get("/fixes")).json()
    if not page["fixes"]:
        return None
    record: dict[str, Any] = (await http.get(f"/fixes/{page['fixes'][0]['id']}")).json()
    return record


async def test_a_running_fix_record_shows_phase_candidate_time_and_tokens(demo: dict[str, Any],
                                                                          llm: ScriptedLLM) -> None:
    # Candidate 1 still fails; candidate 2 takes its time, so the record is read while it is asked for.
    llm.script(reply_files(("swdemo/remember.py", STILL_FAILING)),
               Step(text=reply_files(("swdemo/remember.py", GOOD_REMEMBER)), delay_s=3.0),
               "YES", "Account ids are integers; the cache key now formats them.")
    dlq_id = await fail_demo_job(demo["service"])
    task = asyncio.create_task(demo["resolver"].resolve(dlq_id))
    http: httpx.AsyncClient = demo["http"]

    async def asking_second() -> dict[str, Any] | None:
        record = await running_record(http)
        if record and record["progress"]["phase"] == "asking the model" and record["progress"]["candidate"] == 2:
            return record
        return None

    first = await wait_for(asking_second, timeout=30)
    progress = first["progress"]
    assert first["status"] == "running"
    assert (progress["candidate"], progress["candidates"]) == (2, 2)
    spent = first["prompt_tokens"] + first["completion_tokens"]
    assert spent > 0 and progress["tokens"] == spent  # candidate 1's answer, counted by the model's usage
    assert progress["text"].startswith("asking the model (candidate 2 of 2), ")
    assert first["candidates"][0]["verdict"].startswith("not fixed")
    await asyncio.sleep(1.2)
    later = (await http.get(f"/fixes/{first['id']}")).json()["progress"]
    if later["phase"] == "asking the model":  # still waiting on the delayed answer: the clock moved
        assert later["elapsed_s"] > progress["elapsed_s"] and later["phase_elapsed_s"] >= 1.0

    record: FixRecord = await asyncio.wait_for(task, timeout=60)
    assert record.status.value == "fixed", record.reason
    # Nothing in the demo's code or result looks like a secret, so the model sees the failing line
    # as it is and the contract review runs (redaction would skip it for a masked result).
    assert BUG in llm.requests[0]["messages"][-1]["content"]
    assert record.candidates[1].review is not None and record.candidates[1].review.startswith("yes")
    done = (await http.get(f"/fixes/{record.id}")).json()
    assert done["progress"]["phase"] == "done" and done["progress"]["candidate"] == 0
    assert done["progress"]["elapsed_s"] == round((done["finished_on"] - done["created_on"]) / 1000, 1)
    assert done["progress"]["tokens"] == done["prompt_tokens"] + done["completion_tokens"] > spent


async def test_the_openapi_document_gives_the_progress_schema(demo: dict[str, Any]) -> None:
    spec = (await demo["http"].get("/openapi.json")).json()
    ok = spec["paths"]["/fixes/{fix_id}"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok == {"$ref": "#/components/schemas/FixDetail"}
    progress = spec["components"]["schemas"]["FixProgress"]
    assert set(progress["required"]) == {"phase", "candidate", "candidates", "elapsed_s", "phase_elapsed_s",
                                         "tokens", "text"}
    assert "asking the model" in progress["properties"]["phase"]["enum"]


async def test_a_verified_fix_that_a_review_doubts_lists_the_concern(demo: dict[str, Any], llm: ScriptedLLM) -> None:
    llm.script(reply_files(("swdemo/remember.py", GOOD_REMEMBER)), "NO\nThe key must use the account's email.",
               "Account ids are integers; the cache key now formats them.")
    record = await demo["resolver"].resolve(await fail_demo_job(demo["service"]))
    assert record.status.value == "fixed", record.reason
    done = (await demo["http"].get(f"/fixes/{record.id}")).json()
    assert done["concerns"] == ["contract review: a review says the result breaks the docstring: "
                                "The key must use the account's email."]
    spec = (await demo["http"].get("/openapi.json")).json()
    assert spec["components"]["schemas"]["FixDetail"]["properties"]["concerns"]["type"] == "array"
    mail = demo["inbox"].messages[-1]
    assert mail["Subject"].startswith("[SmartWorker] FIXED (1 concern): ")
    assert "  - contract review: a review says" in _parts(mail)["text/plain"]


def _parts(message: Message) -> dict[str, str]:
    """Each leaf part's decoded text, by its file name or (without one) its content type."""
    return {part.get_filename() or part.get_content_type(): part.get_payload(decode=True).decode()
            for part in message.walk() if not part.is_multipart()}


async def test_the_not_fixed_email_lists_rejected_attempts_and_proposes_nothing(demo: dict[str, Any],
                                                                               llm: ScriptedLLM) -> None:
    llm.script(reply_files(("swdemo/remember.py", STILL_FAILING)), reply_files(("swdemo/remember.py", REMEMBER)))
    dlq_id = await fail_demo_job(demo["service"])
    record = await demo["resolver"].resolve(dlq_id)
    assert record.status.value == "not_fixed" and record.diff  # the first attempt reached the sandbox

    inbox = demo["inbox"]
    await wait_for(lambda: _arrived(inbox), timeout=20)
    message = inbox.messages[-1]
    assert message["Subject"].startswith("[SmartWorker] NOT FIXED: login job")
    parts = _parts(message)
    assert f"fix-{record.id}.diff" not in parts  # nothing is offered as the fix
    rejected = parts[f"rejected-attempt-{record.id}.diff"]
    assert rejected.startswith("# REJECTED ATTEMPT, NOT A FIX") and "str(kind)" in rejected
    text = parts["text/plain"]
    assert "No change is proposed" in text and "proposed change is attached" not in text
    attempts = text[text.index("Rejected attempts:"):]
    assert "- candidate 1: the failing job still fails" in attempts
    assert "- candidate 2: " in attempts
    html = parts["text/html"]
    assert "Rejected attempts" in html and "A rejected attempt (not a fix)" in html and "<h3>Change</h3>" not in html


async def _arrived(inbox: smtp_server.Inbox) -> bool:
    return bool(inbox.messages)
