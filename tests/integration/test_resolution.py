"""The repair loop end to end: real Redis, real bwrap, a real SMTP server, and a real HTTP server that
speaks the OpenAI chat API with scripted replies."""

from __future__ import annotations

import json
import os
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import require
from tests.fakes import openai_server, smtp_server
from tests.fakes.openai_server import ScriptedLLM, Step, reply_files
from tests.integration.test_worker import dlq_settled, dlq_total, wait_for

from smartworker import keys
from smartworker.config import DEMO_APP_MODULE, DEMO_APP_ROOT
from smartworker.notify.email import EmailNotifier
from smartworker.reasoning.llm import ChatClient
from smartworker.reasoning.records import FixStatus
from smartworker.reasoning.resolver import Resolver
from smartworker.sandbox.base import create_sandbox
from smartworker.worker import JobWorker

LOGIN = (DEMO_APP_ROOT / "swdemo" / "login.py").read_text()
GOOD_LOGIN = LOGIN.replace('normalise_email(data.get("email"))',
                           'normalise_email(data.get("email") or data.get("username") or "")')
WRONG_LOGIN = LOGIN.replace('normalise_email(data.get("email"))', 'normalise_email(data.get("mail"))')
# Survives the absent email of the failing job, and still breaks when a producer sends "email": null.
HALF_LOGIN = LOGIN.replace('normalise_email(data.get("email"))',
                           'normalise_email(data.get("email", data.get("username")))')
# Stops the crash by dropping a step: " Alice@Example.com " would no longer find alice.
DROPPING_LOGIN = LOGIN.replace("return email.strip().lower()", 'return (email or "").lower()')
DEMO_DATA = {"username": "alice@example.com", "password": "wonderland", "reasoning_fix": True}


@pytest.fixture
async def loop_parts(make_settings: Any, llm: ScriptedLLM, smtp: tuple[smtp_server.Inbox, int]
                     ) -> AsyncIterator[dict[str, Any]]:
    """A service on the demo app with a worker, and a resolver wired to the fakes."""
    from smartworker.service import Service

    require(os.path.exists("/usr/bin/bwrap"), "bwrap is not installed (apt-get install bubblewrap)")
    inbox, port = smtp
    inbox.messages.clear()
    settings = make_settings(root_dir=DEMO_APP_ROOT, app_module=DEMO_APP_MODULE, ai_service_url=llm.url,
                             ai_timeout_s=2.0, ai_max_retries=0, smtp_host="127.0.0.1", smtp_port=port,
                             sandbox_timeout_s=5.0, sandbox_cpu_s=3, ai_candidates=1, job_attempts=1)
    service = await Service.open(settings)
    worker = JobWorker(settings, service.queues, service.registry)
    await worker.start()
    llm_client = ChatClient.from_settings(settings)
    sandbox = create_sandbox(settings)
    resolver = Resolver(settings, service.queues, llm=llm_client, sandbox=sandbox, notifier=EmailNotifier(settings))
    try:
        yield {"service": service, "resolver": resolver, "inbox": inbox, "settings": settings}
    finally:
        await worker.close()
        await llm_client.close()
        await sandbox.close()  # its warm spare sessions
        for queue in (service.queues.main, service.queues.dlq, service.queues.reasoning):
            await queue.obliterate(force=True)
        await service.close()


async def fail_demo(service: Any, data: dict[str, Any] | None = None) -> str:
    """Run the demo login job into the DLQ and return its DLQ id."""
    before = await dlq_total(service)
    await service.queues.enqueue("login", dict(data or DEMO_DATA))
    await wait_for(lambda: _grew(service, before))
    _, dead = await service.queues.list_dead(1, 1)
    return str(dead[0].id)


async def _grew(service: Any, before: int) -> bool:
    return await dlq_settled(service) > before


@asynccontextmanager
async def resolver_with(loop_parts: dict[str, Any], **update: Any) -> AsyncIterator[Resolver]:
    """A resolver on the test service with some settings changed; its LLM client is closed after."""
    settings = loop_parts["settings"].model_copy(update=update)
    client = ChatClient.from_settings(settings)
    sandbox = create_sandbox(settings)
    try:
        yield Resolver(settings, loop_parts["service"].queues, llm=client, sandbox=sandbox,
                       notifier=EmailNotifier(settings))
    finally:
        await client.close()
        await sandbox.close()  # its warm spare sessions


@asynccontextmanager
async def earlier_logins(service: Any) -> AsyncIterator[None]:
    """Two logins that completed before, as the worker keeps them for the regression replay."""
    recent = keys.recent_completed(service.queues.names.main, "login")
    await service.queues.redis.delete(recent)
    for data in ({"email": "bob@example.com", "password": "builder"}, {"email": "alice@example.com", "password": "x"}):
        await service.queues.redis.lpush(recent, json.dumps(data))
    try:
        yield
    finally:
        await service.queues.redis.delete(recent)


async def test_correct_fix_is_verified_and_emailed(loop_parts: dict[str, Any], llm: ScriptedLLM) -> None:
    llm.script(reply_files(("swdemo/login.py", GOOD_LOGIN)), "YES\nIt returns the session the docstring promises.",
               "The email key was missing; fall back to username.")
    dlq_id = await fail_demo(loop_parts["service"])
    record = await loop_parts["resolver"].resolve(dlq_id)
    assert record.status is FixStatus.FIXED, record.reason
    assert record.candidates[0].outcome is not None and record.candidates[0].outcome["status"] == "ok"
    assert record.candidates[0].review == "yes: It returns the session the docstring promises."
    assert "+" in record.diff and 'data.get("username")' in record.diff
    assert record.summary.startswith("The email key was missing")
    assert record.llm_calls == 3 and record.prompt_tokens > 0
    # The review was shown the changed code, the data (redacted) and what the job returned.
    review = llm.requests[1]["messages"][1]["content"]
    assert 'data.get("username")' in review and '"password": "[REDACTED]"' in review
    assert "What the handler returned" in review and llm.requests[1]["temperature"] == 0
    # The model was shown the traceback, the failing data (password redacted) and the code.
    prompt = llm.requests[0]["messages"][1]["content"]
    assert "AttributeError" in prompt and ">>>" in prompt and "# File: swdemo/login.py" in prompt
    assert '"password": "[REDACTED]"' in prompt and "alice@example.com" in prompt
    # ... and, from the sandbox's reproduction, what the failing line held.
    assert "## Values on the failing line when it raised\n```\nemail = None\n```" in prompt
    # The host's file was not touched.
    assert (DEMO_APP_ROOT / "swdemo" / "login.py").read_text() == LOGIN
    stored = await loop_parts["resolver"].records.get(record.id)
    assert stored.status is FixStatus.FIXED and stored.emailed
    mail = loop_parts["inbox"].messages[-1]
    assert mail["Subject"].startswith("[SmartWorker] FIXED: login job")
    parts = {p.get_content_type(): p for p in mail.walk()}
    assert {"text/plain", "text/html", "text/x-diff"} <= set(parts)
    attachment = parts["text/x-diff"]
    assert attachment.get_filename() == f"fix-{record.id}.diff"
    assert 'data.get("username")' in attachment.get_payload(decode=True).decode()
    assert "wonderland" not in mail.as_string()


async def test_fix_that_only_handles_an_absent_field_is_not_fixed(loop_parts: dict[str, Any],
                                                                   llm: ScriptedLLM) -> None:
    llm.script(reply_files(("swdemo/login.py", HALF_LOGIN)), reply_files(("swdemo/login.py", GOOD_LOGIN)), "YES",
               "Fall back to the username when the email is absent or null.")
    async with resolver_with(loop_parts, ai_candidates=2) as resolver:
        record = await resolver.resolve(await fail_demo(loop_parts["service"]))
    first, second = record.candidates
    # The failing data itself passes with the first candidate; its null variant does not.
    assert first.outcome is not None and first.outcome["status"] == "ok"
    assert first.verdict is not None and "`email` null instead of absent" in first.verdict
    assert "AttributeError" in first.verdict
    # The reason went back to the model, and the next candidate passes both forms.
    retry = llm.requests[1]["messages"][-1]["content"]
    assert "`email` null instead of absent" in retry
    # The second reads `email` as the original did (its default unchanged): no variant is needed.
    assert record.status is FixStatus.FIXED and second.verdict == "fixed"


async def test_fourth_candidate_is_asked_afresh_with_the_earlier_reasons(loop_parts: dict[str, Any],
                                                                        llm: ScriptedLLM) -> None:
    llm.script(reply_files(("swdemo/login.py", WRONG_LOGIN)), reply_files(("swdemo/login.py", LOGIN)),
               reply_files(("swdemo/login.py", WRONG_LOGIN)), reply_files(("swdemo/login.py", GOOD_LOGIN)), "YES",
               "Fall back to the username.")
    async with resolver_with(loop_parts, ai_candidates=4) as resolver:
        record = await resolver.resolve(await fail_demo(loop_parts["service"]))
    assert record.status is FixStatus.FIXED and len(record.candidates) == 4
    # Candidates 2 and 3 continue the conversation; candidate 4 starts over, without the earlier code.
    for retry in llm.requests[1:3]:
        assert [m["role"] for m in retry["messages"]] == ["system", "user", "assistant", "user"]
    fourth = llm.requests[3]["messages"]
    assert [m["role"] for m in fourth] == ["system", "user"]
    earlier = fourth[1]["content"].split("## Earlier attempts that did not work")[1]
    assert "- attempt 1: the failing job still fails" in earlier and "AttributeError" in earlier
    assert "- attempt 2: unchanged" in earlier and "- attempt 3: the failing job still fails" in earlier
    assert 'data.get("mail")' not in fourth[1]["content"]
    # Candidate k asks with seed k, so a run repeats on one server.
    assert [r["seed"] for r in llm.requests[:4]] == [1, 2, 3, 4]


async def test_ai_seed_moves_every_candidates_seed(loop_parts: dict[str, Any], llm: ScriptedLLM) -> None:
    llm.script(reply_files(("swdemo/login.py", LOGIN)), reply_files(("swdemo/login.py", GOOD_LOGIN)), "YES",
               "Fall back to the username.")
    async with resolver_with(loop_parts, ai_candidates=2, ai_seed=40) as resolver:
        record = await resolver.resolve(await fail_demo(loop_parts["service"]))
    assert record.status is FixStatus.FIXED and record.candidates[0].rejected is not None
    assert [r["seed"] for r in llm.requests[:2]] == [41, 42]


async def test_a_fix_that_answers_null_differently_from_absent_is_sent_back(loop_parts: dict[str, Any],
                                                                            llm: ScriptedLLM) -> None:
    # Completes with email absent (falls back to the username) and with email null (user ""): the trap.
    defaulted = LOGIN.replace('normalise_email(data.get("email"))',
                              'normalise_email(data.get("email", data.get("username")) or "")')
    llm.script(reply_files(("swdemo/login.py", defaulted)), reply_files(("swdemo/login.py", GOOD_LOGIN)), "YES",
               "Fall back to the username when the email is absent or null.")
    async with resolver_with(loop_parts, ai_candidates=2) as resolver:
        record = await resolver.resolve(await fail_demo(loop_parts["service"]))
    first, second = record.candidates
    assert first.verdict is not None and first.verdict.startswith(
        "not fixed: the job answers differently with `email` null instead of absent (in the job data): "
        '{"authenticated": false, "user": ""} instead of {"authenticated": true, "user": "alice@example.com"}')
    assert "the job answers differently with `email` null" in llm.requests[1]["messages"][-1]["content"]
    assert record.status is FixStatus.FIXED and second.verdict == "fixed"


def gate(candidate: Any, name: str) -> dict[str, Any]:
    """A candidate's outcome row of one gate."""
    return next(row for row in candidate.gates if row["name"] == name)


async def test_a_review_that_says_no_is_recorded_and_does_not_veto(loop_parts: dict[str, Any],
                                                                    llm: ScriptedLLM) -> None:
    llm.script(reply_files(("swdemo/login.py", GOOD_LOGIN)), "NO\nThe user must be the email, not the username.",
               "Fall back to the username.")
    record = await loop_parts["resolver"].resolve(await fail_demo(loop_parts["service"]))
    # A small model judging its own result is weak evidence: shown to the person, not a veto.
    assert record.status is FixStatus.FIXED and len(record.candidates) == 1
    [first] = record.candidates
    assert first.review == "no: The user must be the email, not the username."
    review = gate(first, "contract review")
    assert review["policy"] == "inform" and review["outcome"] == "failed"
    assert "The user must be the email" in review["reason"]
    assert llm.chat_calls == 3  # fix, review, summary: nothing sent back
    # The person who approves the fix reads the review's words first.
    mail = loop_parts["inbox"].messages[-1]
    assert mail["Subject"].startswith("[SmartWorker] FIXED (1 concern): login job")
    text = next(p for p in mail.walk() if p.get_content_type() == "text/plain").get_payload(decode=True).decode()
    assert "  - contract review: a review says the result breaks the docstring: The user must be the email" in text


async def test_a_result_shaped_unlike_earlier_results_is_shown_not_vetoed(loop_parts: dict[str, Any],
                                                                         llm: ScriptedLLM) -> None:
    service = loop_parts["service"]
    # Null and absent email get the same answer, so no vetoing gate objects.
    texty = GOOD_LOGIN.replace('"authenticated": ok}', '"authenticated": ok if data.get("email") else "unknown"}')
    assert texty != GOOD_LOGIN
    llm.script(reply_files(("swdemo/login.py", texty)), "YES", "Fall back to the username.")
    async with earlier_logins(service):
        record = await loop_parts["resolver"].resolve(await fail_demo(service))
    # Two earlier results are no contract: the difference is in the record for the person.
    assert record.status is FixStatus.FIXED and len(record.candidates) == 1
    shape = gate(record.candidates[0], "result shape")
    assert shape["policy"] == "inform" and shape["outcome"] == "failed"
    assert shape["reason"].startswith('`authenticated` in the result is "unknown", unlike every earlier job\'s')
    # Every gate has a row, in order, and the vetoing ones passed.
    rows = record.candidates[0].gates
    assert [r["name"] for r in rows][:2] == ["reply", "hidden error"] and rows[-1]["name"] == "contract review"
    assert all(r["outcome"] in ("passed", "skipped") for r in rows if r["policy"] == "veto")


async def test_an_earlier_job_whose_answer_changes_is_shown_with_both_answers(loop_parts: dict[str, Any],
                                                                             llm: ScriptedLLM) -> None:
    service = loop_parts["service"]
    # Answers every login with one more key: earlier jobs get another answer, and none fails.
    flagged = GOOD_LOGIN.replace('return {"user": email', 'return {"checked": True, "user": email')
    assert flagged != GOOD_LOGIN
    llm.script(reply_files(("swdemo/login.py", flagged)), "YES", "summary")
    async with earlier_logins(service):
        record = await loop_parts["resolver"].resolve(await fail_demo(service))
    assert record.status is FixStatus.FIXED, record.reason
    answers = gate(record.candidates[0], "replay answers")
    assert answers["policy"] == "inform" and answers["outcome"] == "failed"
    assert answers["reason"].startswith("2 of 2 earlier job(s) get another answer")
    changed = answers["evidence"][0]
    assert changed["after"]["checked"] is True and "checked" not in changed["before"]
    assert changed["data"]["password"] == "[REDACTED]"


async def test_the_prompt_says_how_the_data_differs_and_a_broken_earlier_job_is_shown(
        loop_parts: dict[str, Any], llm: ScriptedLLM) -> None:
    service = loop_parts["service"]
    # Reads the new key only: the failed job completes, the earlier logins (with "email") break.
    username_only = LOGIN.replace('normalise_email(data.get("email"))', 'normalise_email(data["username"])')
    llm.script(reply_files(("swdemo/login.py", username_only)), reply_files(("swdemo/login.py", GOOD_LOGIN)), "YES",
               "Fall back to the username.")
    async with earlier_logins(service), resolver_with(loop_parts, ai_candidates=2) as resolver:
        record = await resolver.resolve(await fail_demo(service))
    prompt = llm.requests[0]["messages"][1]["content"]
    assert ("## How this job's data differs from the handler's recent successful jobs\n"
            '- `data["email"]` is missing here; every earlier job had it\n'
            '- `data["username"]` is new: no earlier job had it\n') in prompt
    first = record.candidates[0]
    assert first.verdict is not None and first.verdict.startswith("not fixed: regression on replay")
    retry = llm.requests[1]["messages"][-1]["content"]
    assert "That earlier job succeeded before your change; its data:" in retry
    assert '"email": "bob@example.com"' in retry or '"email": "alice@example.com"' in retry
    assert "builder" not in retry and '"password": "[REDACTED]"' in retry
    assert record.status is FixStatus.FIXED


async def test_unreadable_or_disabled_review_leaves_the_verdict(loop_parts: dict[str, Any], llm: ScriptedLLM) -> None:
    llm.script(reply_files(("swdemo/login.py", GOOD_LOGIN)), "I think the code looks fine overall.", "summary")
    record = await loop_parts["resolver"].resolve(await fail_demo(loop_parts["service"]))
    assert record.status is FixStatus.FIXED and record.candidates[0].review is not None
    assert record.candidates[0].review.startswith("unreadable")
    llm.script(reply_files(("swdemo/login.py", GOOD_LOGIN)), "summary")
    async with resolver_with(loop_parts, ai_output_review=False) as resolver:
        record = await resolver.resolve(await fail_demo(loop_parts["service"], {**DEMO_DATA, "password": "p2"}))
    assert record.status is FixStatus.FIXED and record.candidates[0].review is None
    assert llm.chat_calls == 2 and record.summary == "summary"


async def test_a_result_with_redacted_values_is_not_reviewed(loop_parts: dict[str, Any], llm: ScriptedLLM) -> None:
    # The fixed login returns a token: the reviewer could only see "[REDACTED]", so it is not asked.
    tokened = GOOD_LOGIN.replace('return {"user": email', 'return {"session_token": "s3cr3t-" + email, "user": email')
    llm.script(reply_files(("swdemo/login.py", tokened)), "summary")
    record = await loop_parts["resolver"].resolve(await fail_demo(loop_parts["service"]))
    assert record.status is FixStatus.FIXED, record.reason
    review = gate(record.candidates[0], "contract review")
    assert review["outcome"] == "skipped" and "redacted" in review["reason"]
    assert llm.chat_calls == 2 and all("What the handler returned" not in str(r) for r in llm.requests)


async def test_a_dropped_step_and_an_ignored_documented_key_inform(loop_parts: dict[str, Any],
                                                                    llm: ScriptedLLM) -> None:
    # Replacing the call that failed is what API migrations do; a docstring may name a key the code
    # deliberately ignores. Both are shown to the person and never sent to the model as instructions.
    docstring = '    """Log a user in; ``trusted_device`` is accepted and ignored (sessions last a day)."""\n'
    migrated = DROPPING_LOGIN.replace("def handle(data):\n", "def handle(data):\n" + docstring)
    assert migrated != DROPPING_LOGIN
    llm.script(reply_files(("swdemo/login.py", migrated)), "YES", "summary")
    record = await loop_parts["resolver"].resolve(await fail_demo(loop_parts["service"],
                                                                  {**DEMO_DATA, "trusted_device": True}))
    assert record.status is FixStatus.FIXED, record.reason
    [first] = record.candidates
    dropped, ignored = gate(first, "dropped call"), gate(first, "ignored input")
    assert (dropped["policy"], dropped["outcome"]) == ("inform", "failed") and "`.strip()`" in dropped["reason"]
    assert (ignored["policy"], ignored["outcome"]) == ("inform", "failed") and "`trusted_device`" in ignored["reason"]
    assert first.rejected is None and first.verdict == "fixed"
    assert llm.chat_calls == 3


async def test_wrong_fix_is_not_fixed(loop_parts: dict[str, Any], llm: ScriptedLLM) -> None:
    llm.script(reply_files(("swdemo/login.py", WRONG_LOGIN)))
    record = await loop_parts["resolver"].resolve(await fail_demo(loop_parts["service"]))
    assert record.status is FixStatus.NOT_FIXED
    assert "still fails" in record.reason and "AttributeError" in record.reason
    assert record.diff and loop_parts["inbox"].messages[-1]["Subject"].startswith("[SmartWorker] NOT FIXED")


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        ("I am sorry, I cannot help with that.", "no file blocks"),
        (reply_files(("../../etc/cron.d/evil.py", "print('x')")), ".."),
        (reply_files(("/etc/passwd.py", "x = 1")), "absolute"),
        (reply_files(("swdemo/login.py", "def handle(data:\n    return")), "not valid python"),
        (reply_files(("swdemo/login.py", LOGIN)), "unchanged"),
    ],
)
async def test_unusable_proposals_are_rejected(loop_parts: dict[str, Any], llm: ScriptedLLM, reply: str,
                                               reason: str) -> None:
    llm.script(reply)
    record = await loop_parts["resolver"].resolve(await fail_demo(loop_parts["service"]))
    assert record.status is FixStatus.NOT_FIXED
    rejected = record.candidates[0].rejected or ""
    assert reason in rejected.lower(), rejected
    assert record.candidates[0].outcome is None  # never applied


async def test_llm_timeout_fails_the_attempt_cleanly(loop_parts: dict[str, Any], llm: ScriptedLLM) -> None:
    llm.script(Step(text="late", delay_s=4.0))
    record = await loop_parts["resolver"].resolve(await fail_demo(loop_parts["service"]))
    assert record.status is FixStatus.NOT_FIXED
    assert "timed out" in (record.candidates[0].rejected or "")


async def test_llm_retries_a_rate_limit_then_succeeds(loop_parts: dict[str, Any], llm: ScriptedLLM) -> None:
    client = ChatClient(llm.url, "m", max_retries=2, backoff_s=0.01)
    llm.script(Step(status=429), Step(status=503), "hello")
    try:
        answer = await client.complete([{"role": "user", "content": "hi"}])
    finally:
        await client.close()
    assert answer.text == "hello" and llm.chat_calls == 3


MALICIOUS = {
    "network": "import socket\n    socket.create_connection(('127.0.0.1', 6379), timeout=2)",
    "shadow": "open('/etc/shadow').read()",
    "write_outside": "open('/work/main/PWNED', 'w').write('x')",
    "fork_bomb": "import os\n    while True:\n        os.fork()",
    "forever": "while True:\n        pass",
    "ten_gb": "x = bytearray(10 * 1024 ** 3)",
}


@pytest.mark.parametrize("kind", sorted(MALICIOUS))
async def test_malicious_fix_is_not_fixed_and_host_untouched(loop_parts: dict[str, Any], llm: ScriptedLLM,
                                                             kind: str) -> None:
    evil = LOGIN.replace("def handle(data):\n", f"def handle(data):\n    {MALICIOUS[kind]}\n")
    llm.script(reply_files(("swdemo/login.py", evil)))
    record = await loop_parts["resolver"].resolve(await fail_demo(loop_parts["service"]))
    assert record.status is FixStatus.NOT_FIXED, record.reason
    assert not Path("/work/main/PWNED").exists()
    assert (DEMO_APP_ROOT / "swdemo" / "login.py").read_text() == LOGIN
    # The worker is alive: a new job still runs.
    job_id = await loop_parts["service"].queues.enqueue("login", {"email": "bob@example.com", "password": "x"})
    await wait_for(lambda: _completed(loop_parts["service"], job_id))


async def _completed(service: Any, job_id: str) -> bool:
    return (await service.queues.describe(job_id))["state"] == "completed"


async def test_identical_failures_attach_to_one_resolution(loop_parts: dict[str, Any], llm: ScriptedLLM) -> None:
    import asyncio

    llm.script(Step(text=reply_files(("swdemo/login.py", GOOD_LOGIN)), delay_s=1.0), "YES", "summary")
    first = await fail_demo(loop_parts["service"])
    second = await fail_demo(loop_parts["service"], {**DEMO_DATA, "password": "other"})
    a, b = await asyncio.gather(loop_parts["resolver"].resolve(first), loop_parts["resolver"].resolve(second))
    statuses = sorted([a.status, b.status])
    assert statuses == sorted([FixStatus.FIXED, FixStatus.ATTACHED])
    owner, attached = (a, b) if a.status is FixStatus.FIXED else (b, a)
    assert attached.attached_to == owner.id
    assert (await loop_parts["resolver"].records.get(owner.id)).attached == [attached.dlq_id]
    assert llm.chat_calls == 3  # one fix, one review and one summary, not two of each


async def test_failure_that_does_not_reproduce_is_not_sent_to_the_llm(loop_parts: dict[str, Any],
                                                                      llm: ScriptedLLM) -> None:
    llm.script(reply_files(("swdemo/login.py", GOOD_LOGIN)))
    service = loop_parts["service"]
    dlq_id = await fail_demo(service)
    # Edit the stored data so the original code succeeds on it: nothing to fix in the sandbox.
    dead = await service.queues.dead_job(dlq_id)
    job = await service.queues.dlq.getJob(dlq_id)
    record_data = job.data
    record_data["job"]["data"] = {"email": "alice@example.com", "password": "wonderland"}
    await job.updateData(record_data)
    assert dead is not None
    record = await loop_parts["resolver"].resolve(dlq_id)
    assert record.status is FixStatus.ABSTAINED and "does not reproduce" in record.reason
    assert record.abstained == "does not reproduce"
    assert llm.chat_calls == 0


@asynccontextmanager
async def escalating(loop_parts: dict[str, Any], stronger: ScriptedLLM, **update: Any) -> AsyncIterator[Resolver]:
    """A resolver whose first model is the ``llm`` fixture and whose escalation model is ``stronger``."""
    async with resolver_with(loop_parts, ai_model_name="small-1.5b", ai_escalation_url=stronger.url,
                             ai_escalation_model="strong-32b", **update) as resolver:
        try:
            yield resolver
        finally:
            if resolver.escalation is not None:
                await resolver.escalation.close()


async def test_the_escalation_model_goes_on_with_what_was_learnt(loop_parts: dict[str, Any],
                                                                 llm: ScriptedLLM) -> None:
    llm.script(reply_files(("swdemo/login.py", WRONG_LOGIN)), reply_files(("swdemo/login.py", HALF_LOGIN)), "summary")
    with openai_server.running() as stronger:
        stronger.script(reply_files(("swdemo/login.py", GOOD_LOGIN)), "YES\nThe user is the username.")
        async with escalating(loop_parts, stronger, ai_candidates=2, ai_escalation_candidates=2) as resolver:
            record = await resolver.resolve(await fail_demo(loop_parts["service"]))
        assert record.status is FixStatus.FIXED, record.reason
        assert [c.model for c in record.candidates] == ["small-1.5b", "small-1.5b", "strong-32b"]
        assert [c.verdict == "fixed" for c in record.candidates] == [False, False, True]
        # The stronger model is asked afresh, with the reasons and the failing values learnt so far.
        first_ask = stronger.requests[0]
        assert first_ask["model"] == "strong-32b"
        assert [m["role"] for m in first_ask["messages"]] == ["system", "user"]
        prompt = first_ask["messages"][1]["content"]
        assert "## Earlier attempts that did not work" in prompt
        assert "- attempt 1: the failing job still fails" in prompt and "`email` null instead of absent" in prompt
        assert "email = None" in prompt
        # Its own candidate is reviewed by it; the first model wrote the two others and the summary.
        assert stronger.chat_calls == 2 and "What the handler returned" in str(stronger.requests[1])
        assert llm.chat_calls == 3


async def test_the_escalation_model_reviews_the_first_models_verified_fix(loop_parts: dict[str, Any],
                                                                          llm: ScriptedLLM) -> None:
    llm.script(reply_files(("swdemo/login.py", GOOD_LOGIN)), "Fall back to the username.")
    with openai_server.running() as stronger:
        stronger.script("NO\nThe user must be the email, not the username.")
        # No candidates of its own: the stronger model is only the judge.
        async with escalating(loop_parts, stronger, ai_candidates=2, ai_escalation_candidates=0) as resolver:
            record = await resolver.resolve(await fail_demo(loop_parts["service"]))
        # The small model's first candidate is the fix; the stronger model is its judge, not its author.
        assert record.status is FixStatus.FIXED and [c.model for c in record.candidates] == ["small-1.5b"]
        [fix] = record.candidates
        assert fix.reviewer == "strong-32b" and fix.review == "no: The user must be the email, not the username."
        assert stronger.chat_calls == 1 and stronger.requests[0]["model"] == "strong-32b"
        assert "What the handler returned" in str(stronger.requests[0])
        assert llm.chat_calls == 2  # the fix and the summary
        assert record.concerns == ["contract review: a review says the result breaks the docstring: "
                                   "The user must be the email, not the username."]


async def test_an_escalation_model_with_no_candidates_writes_none(loop_parts: dict[str, Any],
                                                                  llm: ScriptedLLM) -> None:
    llm.script(reply_files(("swdemo/login.py", WRONG_LOGIN)))
    with openai_server.running() as stronger:
        stronger.script(reply_files(("swdemo/login.py", GOOD_LOGIN)))
        async with escalating(loop_parts, stronger, ai_candidates=1, ai_escalation_candidates=0) as resolver:
            record = await resolver.resolve(await fail_demo(loop_parts["service"]))
        assert record.status is FixStatus.NOT_FIXED and [c.model for c in record.candidates] == ["small-1.5b"]
        assert stronger.chat_calls == 0


async def test_while_the_escalation_server_is_down_the_own_model_reviews(loop_parts: dict[str, Any],
                                                                         llm: ScriptedLLM) -> None:
    llm.script(reply_files(("swdemo/login.py", GOOD_LOGIN)), "YES", "Fall back to the username.")
    with socket.socket() as closed:  # a port nothing listens on: connections are refused at once
        closed.bind(("127.0.0.1", 0))
        down = f"http://127.0.0.1:{closed.getsockname()[1]}/v1"
        async with resolver_with(loop_parts, ai_model_name="small-1.5b", ai_escalation_url=down,
                                 ai_escalation_model="strong-32b") as resolver:
            try:
                record = await resolver.resolve(await fail_demo(loop_parts["service"]))
            finally:
                if resolver.escalation is not None:
                    await resolver.escalation.close()
    assert record.status is FixStatus.FIXED, record.reason
    [fix] = record.candidates
    assert fix.reviewer == "small-1.5b" and fix.review == "yes" and record.concerns == []
    assert llm.chat_calls == 3


async def test_a_candidate_budget_stops_the_escalation(loop_parts: dict[str, Any], llm: ScriptedLLM) -> None:
    llm.script(reply_files(("swdemo/login.py", WRONG_LOGIN)))
    with openai_server.running() as stronger:
        stronger.script(reply_files(("swdemo/login.py", HALF_LOGIN)))
        async with escalating(loop_parts, stronger, ai_candidates=1, ai_escalation_candidates=2) as resolver:
            record = await resolver.resolve(await fail_demo(loop_parts["service"]))
        assert record.status is FixStatus.NOT_FIXED
        assert [c.model for c in record.candidates] == ["small-1.5b", "strong-32b", "strong-32b"]
        assert stronger.chat_calls == 2 and llm.chat_calls == 1
        assert "`email` null instead of absent" in record.reason


async def test_a_token_budget_stops_the_escalation_too(loop_parts: dict[str, Any], llm: ScriptedLLM) -> None:
    llm.script(reply_files(("swdemo/login.py", WRONG_LOGIN)))
    with openai_server.running() as stronger:
        stronger.script(reply_files(("swdemo/login.py", GOOD_LOGIN)), "YES")
        # Room for one ask: the first model's; the escalation's would pass the budget.
        async with escalating(loop_parts, stronger, ai_candidates=1, ai_escalation_candidates=4,
                              ai_token_budget=1500) as resolver:
            record = await resolver.resolve(await fail_demo(loop_parts["service"]))
        assert record.status is FixStatus.NOT_FIXED and "token budget of 1500 spent after 1 candidates" in record.reason
        assert stronger.chat_calls == 0 and [c.model for c in record.candidates] == ["small-1.5b"]
