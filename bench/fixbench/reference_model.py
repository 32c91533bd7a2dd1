"""A scripted model that answers every fix request with the case's own reference fix (no LLM).

It measures the gates, not a model: a reference fix passes its case's acceptance check by
construction, so every case that does not end "fixed" is a correct fix the loop turned down. It is
served as a real OpenAI-compatible HTTP server (``tests/fakes/openai_server.py``), so the loop runs
exactly as with a model: context, prompt, reply parsing, every check, the bwrap sandbox. Any other
question (the contract review, the summary) gets "YES", what a model that trusts the fix would say.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from smartworker.reasoning.prompt import system_message

from .cases import Case


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
