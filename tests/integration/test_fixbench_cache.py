"""FixBench puts the model server's prompt cache in one state before each case (real HTTP)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from bench.fixbench.__main__ import settle_cache
from tests.fakes import openai_server
from tests.fakes.openai_server import ScriptedLLM

from smartworker.reasoning.context import extract
from smartworker.reasoning.llm import ChatClient
from smartworker.reasoning.prompt import fix_messages


@pytest.fixture
def llm() -> Iterator[ScriptedLLM]:
    with openai_server.running() as state:
        yield state


async def test_the_cache_is_left_holding_the_fix_prompts_system_message(llm: ScriptedLLM, tmp_path: Path) -> None:
    llm.script("Yes")
    client = ChatClient(llm.url, "local", timeout_s=5.0)
    try:
        await settle_cache(client)
    finally:
        await client.close()
    (sent,) = llm.requests
    ctx = extract(queue="q", job_id="1", job_name="n", attempts=1, data={}, opts={}, failed_reason="boom",
                  stacktrace=[], app_root=tmp_path)
    # Every case's first prompt then finds the same prefix cached: this system message, and no more.
    assert sent["messages"][0] == fix_messages(ctx)[0]
    assert [m["role"] for m in sent["messages"]] == ["system", "user"]
    assert sent["max_tokens"] == 1 and sent["temperature"] == 0
