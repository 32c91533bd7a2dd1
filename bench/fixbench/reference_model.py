"""A scripted model that answers every fix request with the case's own reference fix (no LLM).

It measures the gates, not a model: a reference fix passes its case's acceptance check by
construction, so every case that does not end "fixed" is a correct fix the loop turned down. It is
served as a real OpenAI-compatible HTTP server (``tests/fakes/openai_server.py``), so the loop runs
exactly as with a model: context, prompt, reply parsing, every check, the bwrap sandbox. Any other
question (the contract review, the summary) gets "YES", what a model that trusts the fix would say.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from smartworker.config import Settings
from smartworker.notify.email import EmailNotifier
from smartworker.queues import Queues
from smartworker.reasoning.llm import ChatClient
from smartworker.reasoning.prompt import system_message
from smartworker.reasoning.resolver import Resolver
from smartworker.sandbox.base import SandboxBackend

from .cases import Case
from .runner import run_case


class ReferenceModel:
    """Answers for the case set in ``case``; the benchmark sets it before running each case."""

    def __init__(self) -> None:
        self.case: Case | None = None

    def answer(self, body: dict[str, Any]) -> str:
        """The reply to one chat request."""
        messages = body.get("messages") or [{}]
        first = {key: messages[0].get(key) for key in ("role", "content")}
        if self.case is not None and first == system_message():
            return reply(self.case)
        return "YES"

    @contextmanager
    def serving(self) -> Iterator[str]:
        """The model on a free loopback port for the length of a ``with`` block; yields its URL."""
        # tests/ is importable from the repository root, where the benchmark runs.
        from tests.fakes import openai_server

        with openai_server.running() as server:
            server.responder = self.answer
            yield server.url


def reply(case: Case) -> str:
    """The reference fix as a model writes it: every changed file whole, after a ``# File:`` line."""
    from tests.fakes.openai_server import reply_files

    return reply_files(*sorted(case.reference_fix().items()))


async def run_references(cases: list[Case], settings: Settings, queues: Queues, sandbox: SandboxBackend, *,
                         history: bool, lanes: int = 1,
                         on_row: Callable[[dict[str, Any]], None] | None = None) -> list[dict[str, Any]]:
    """Every case through the loop, answered with its reference fix; rows in the order of ``cases``.

    ``lanes`` cases run at a time, each lane with a model server, client and resolver of its own
    (a lane's model answers for the one case it is running). Without memory: a reference fix
    remembered from one case would only be shown to the next.
    """
    waiting: asyncio.Queue[Case] = asyncio.Queue()
    for case in cases:
        waiting.put_nowait(case)
    rows: dict[str, dict[str, Any]] = {}

    async def lane() -> None:
        model = ReferenceModel()
        with model.serving() as url:
            llm = ChatClient.from_settings(settings, url)
            resolver = Resolver(settings, queues, llm=llm, sandbox=sandbox, notifier=EmailNotifier(settings))
            try:
                while not waiting.empty():
                    model.case = waiting.get_nowait()
                    row = await run_case(model.case, resolver, sandbox, None, history=history)
                    rows[model.case.id] = row
                    if on_row is not None:
                        on_row(row)
            finally:
                await llm.close()

    await asyncio.gather(*(lane() for _ in range(max(1, lanes))))
    return [rows[case.id] for case in cases]
