"""Triage before any model is asked: a validation error, a failure outside the application and a
failure that does not reproduce end as abstained, with the reason, and no fix is asked for.

Real bwrap, real Redis, and the scripted OpenAI-compatible server (which must receive nothing)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from tests.fakes.openai_server import ScriptedLLM, reply_files

from smartworker.notify.email import EmailNotifier
from smartworker.queues import Queues
from smartworker.reasoning.context import extract
from smartworker.reasoning.llm import ChatClient
from smartworker.reasoning.records import FixRecord, FixStatus
from smartworker.reasoning.resolver import Resolver, Target
from smartworker.reasoning.triage import validation_error
from smartworker.sandbox.base import SandboxRequest
from smartworker.sandbox.bwrap import BwrapSandbox

ERRORS = '''class InvalidOrder(ValueError):
    """The order's data is refused: the producer must send another."""
'''
ORDERS = '''from shop.errors import InvalidOrder


def handle(data):
    """Accept an order of ``quantity`` items of ``sku``."""
    quantity = data["quantity"]
    if not isinstance(quantity, int) or quantity <= 0:
        raise InvalidOrder(f"quantity must be a positive whole number, not {quantity!r}")
    return {"sku": data["sku"], "quantity": quantity}
'''
INIT = '''from smartworker import registry
from shop import orders

registry.register("order", orders.handle)
'''


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    (tmp_path / "shop").mkdir()
    for name, text in {"__init__.py": INIT, "errors.py": ERRORS, "orders.py": ORDERS}.items():
        (tmp_path / "shop" / name).write_text(text, encoding="utf-8")
    return tmp_path


@pytest.fixture
async def resolver(make_settings: Any, llm: ScriptedLLM, sandbox: BwrapSandbox) -> AsyncIterator[Resolver]:
    settings = make_settings(ai_service_url=llm.url, smtp_host=None, ai_timeout_s=5.0)
    queues = Queues(settings, settings.redis_dsn())
    client = ChatClient.from_settings(settings)
    try:
        yield Resolver(settings, queues, llm=client, sandbox=sandbox, notifier=EmailNotifier(settings))
    finally:
        await client.close()
        await queues.close()


async def failed(sandbox: BwrapSandbox, root: Path, data: dict[str, Any], traceback: str | None = None
                 ) -> tuple[Any, FixRecord]:
    """The failure context of ``data`` as a worker would record it (the sandbox's own traceback unless
    ``traceback`` is given), and a fresh record."""
    outcome = await sandbox.run(SandboxRequest(app_root=root, app_module="shop", handler="order", data=data))
    assert not outcome.ok or traceback is not None
    text = traceback if traceback is not None else outcome.traceback or ""
    reason = f"{outcome.exc_type}: {outcome.message}" if traceback is None else "JSONDecodeError: Expecting value"
    ctx = extract(queue="orders", job_id="7", job_name="order", attempts=3, data=data, opts={}, failed_reason=reason,
                  stacktrace=[text], app_root=root)
    return ctx, FixRecord.new("7", "orders", "7", "order")


async def test_a_handlers_own_validation_error_ends_as_invalid_input_without_a_fix_request(
        resolver: Resolver, sandbox: BwrapSandbox, shop: Path, llm: ScriptedLLM) -> None:
    llm.script(reply_files(("shop/orders.py", ORDERS.replace("quantity <= 0", "quantity < -1"))))
    data = {"sku": "A-1", "quantity": 0}
    ctx, record = await failed(sandbox, shop, data)
    result = await resolver.run(ctx, data, record, target=Target(shop, "shop"), replay_inputs=[])
    assert record.status is FixStatus.ABSTAINED and not result.fixed
    assert record.abstained == "invalid input"
    assert record.reason.startswith("the job's data is invalid: ")
    assert "InvalidOrder" in record.reason and "positive whole number" in record.reason
    assert record.candidates == [] and llm.chat_calls == 0


async def test_a_failure_with_no_frame_in_the_application_is_not_fixed(
        resolver: Resolver, sandbox: BwrapSandbox, shop: Path, llm: ScriptedLLM) -> None:
    llm.script(reply_files(("shop/orders.py", ORDERS)))
    outside = ('Traceback (most recent call last):\n'
               '  File "/usr/lib/python3.11/json/decoder.py", line 355, in raw_decode\n'
               '    raise JSONDecodeError("Expecting value", s, err.value) from None\n'
               'json.decoder.JSONDecodeError: Expecting value: line 1 column 1 (char 0)\n')
    data = {"sku": "A-1", "quantity": 2}
    ctx, record = await failed(sandbox, shop, data, traceback=outside)
    await resolver.run(ctx, data, record, target=Target(shop, "shop"), replay_inputs=[])
    assert record.status is FixStatus.ABSTAINED and record.abstained == "outside the application"
    assert "/usr/lib/python3.11/json/decoder.py" in record.reason and "APP_ROOT_DIR" in record.reason
    assert llm.chat_calls == 0


@pytest.mark.parametrize(("name", "refuses"), [
    ("ValidationError", True), ("pydantic_core._pydantic_core.ValidationError", True),
    ("shop.errors.InvalidOrder", True),
    ("BadRequest", True), ("ValueError", False), ("decimal.InvalidOperation", False), ("InvalidOperation", False),
    ("KeyError", False), ("json.decoder.JSONDecodeError", False)])
def test_only_an_exception_named_as_a_refusal_is_a_validation_error(name: str, refuses: bool) -> None:
    # A plain ValueError is often raised for data a bug made wrong (a page count off by one).
    assert validation_error(name) is refuses
