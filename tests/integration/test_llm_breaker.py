"""The LLM client against a real (scripted) OpenAI-compatible server that goes away and comes back."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from tests.fakes import openai_server
from tests.fakes.openai_server import Step

from smartworker.errors import LLMError, LLMUnavailableError
from smartworker.reasoning.llm import ChatClient, CircuitBreaker, Outages, llm_state

MESSAGES = [{"role": "user", "content": "hi"}]


async def test_unreachable_server_opens_the_circuit_and_its_return_closes_it(make_settings: Any,
                                                                             service: Any) -> None:
    alerts: list[tuple[str, str]] = []

    async def alert(subject: str, text: str) -> None:
        alerts.append((subject, text))

    state, server, thread = openai_server.serve()
    state.script("ok")
    client = ChatClient(state.url, "m", max_retries=1, backoff_s=0.01,
                        breaker=CircuitBreaker(backoff_s=0.3, max_backoff_s=1))
    client.outages = Outages(service.queues.redis, service.queues.names.main, alert)
    settings = make_settings(ai_service_url=state.url)
    try:
        assert (await client.complete(MESSAGES)).text == "ok"
        server.should_exit = True
        thread.join(5)
        started = time.monotonic()
        with pytest.raises(LLMUnavailableError, match="llm unavailable"):
            await client.complete(MESSAGES)
        assert await llm_state(settings, service.queues.redis) == "down"
        # While open, calls fail at once without touching the network.
        quick = time.monotonic()
        with pytest.raises(LLMUnavailableError):
            await client.complete(MESSAGES)
        assert time.monotonic() - quick < 0.05
        assert await client.available() > 0
        await asyncio.sleep(0.35)
        assert await client.available() > 0  # probe fails: open again, longer
        assert len(alerts) == 1 and alerts[0][0] == "LLM unavailable"  # one alert per outage
        assert time.monotonic() - started < 5
    finally:
        server.should_exit = True
    # The server comes back on the same port.
    port = int(state.url.rsplit(":", 1)[1])
    back_state, back_server, back_thread = openai_server.serve(port)
    back_state.script("back")
    try:
        await asyncio.sleep(client.breaker.wait_s())
        assert await client.available() == 0 and client.breaker.closed
        assert await llm_state(settings, service.queues.redis) == "up"
        assert (await client.complete(MESSAGES)).text == "back"
        assert len(alerts) == 1
    finally:
        back_server.should_exit = True
        back_thread.join(5)
        await client.close()


async def test_a_bad_answer_is_not_an_outage(service: Any) -> None:
    with openai_server.running() as state:
        state.script(Step(status=400))
        client = ChatClient(state.url, "m", max_retries=0)
        try:
            with pytest.raises(LLMError) as caught:
                await client.complete(MESSAGES)
            assert not isinstance(caught.value, LLMUnavailableError) and client.breaker.closed
        finally:
            await client.close()


async def test_the_bundled_model_servers_state_is_read_from_its_health() -> None:
    """/health's "llm" for the bundled model is what its server answers, not that it is installed."""
    from fastapi import FastAPI, Response
    from tests.fakes import serving

    from smartworker.reasoning.llm import local_server_state

    answer = {"status": 503}
    app = FastAPI()

    @app.get("/health")
    def health() -> Response:
        return Response(status_code=answer["status"])

    url, server, thread = serving.start(app)
    try:
        assert await local_server_state(url) == "loading"
        answer["status"] = 200
        assert await local_server_state(url) == "up"
    finally:
        server.should_exit = True
        thread.join(5)
    assert await local_server_state(url) == "down"  # nothing listens there any more
