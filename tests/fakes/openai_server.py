"""A real HTTP server speaking the OpenAI chat-completions protocol, with scripted replies.

Each request takes the next scripted step: a reply text, an HTTP status, a pause (to provoke a
client timeout) or a raw body. When the script runs out, the last step repeats. A ``responder``, when
set, answers every request instead, from the request's body (a model whose answer depends on what it
was asked). Every request body is recorded so tests can assert what the model was shown.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from tests.fakes import serving


@dataclass
class Step:
    """One scripted answer."""

    text: str | None = None  #: assistant message content
    status: int = 200
    delay_s: float = 0.0  #: sleep before answering
    raw: str | None = None  #: body sent as is (e.g. garbage)


@dataclass
class ScriptedLLM:
    """The server's state: script and recorded requests."""

    steps: list[Step] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""
    #: when set, answers every request from its body instead of the script
    responder: Callable[[dict[str, Any]], str] | None = None

    def script(self, *steps: Step | str) -> None:
        """Replace the script; plain strings are reply texts."""
        self.steps = [s if isinstance(s, Step) else Step(text=s) for s in steps]
        self.requests.clear()

    def _next(self) -> Step:
        if not self.steps:
            return Step(text="")
        return self.steps.pop(0) if len(self.steps) > 1 else self.steps[0]

    @property
    def chat_calls(self) -> int:
        """How many chat requests arrived."""
        return len(self.requests)


def _app(state: ScriptedLLM) -> FastAPI:
    app = FastAPI()

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> Response:
        body = await request.json()
        state.requests.append(body)
        step = Step(text=state.responder(body)) if state.responder is not None else state._next()
        if step.delay_s:
            await asyncio.sleep(step.delay_s)
        if step.raw is not None:
            return Response(step.raw, status_code=step.status, media_type="application/json")
        if step.status != 200:
            return JSONResponse({"error": {"message": "scripted failure"}}, status_code=step.status)
        prompt_tokens = sum(len(str(m.get("content", ""))) for m in body.get("messages", [])) // 4
        return JSONResponse({
            "id": f"chatcmpl-{len(state.requests)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", "scripted"),
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": step.text or ""}}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": len(step.text or "") // 4,
                      "total_tokens": prompt_tokens + len(step.text or "") // 4},
        })

    @app.get("/health")
    async def health() -> dict[str, str]:
        # As llama.cpp's server answers once its model is loaded.
        return {"status": "ok"}

    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        return {"object": "list", "data": [{"id": "scripted", "object": "model"}]}

    return app


def serve(port: int | None = None) -> tuple[ScriptedLLM, uvicorn.Server, threading.Thread]:
    """Start the server on ``port`` (default: a free loopback port) in a thread."""
    state = ScriptedLLM()
    state.url, server, thread = serving.start(_app(state), port)
    return state, server, thread


@contextmanager
def running() -> Iterator[ScriptedLLM]:
    """The server for the length of a ``with`` block (fixtures of any scope use this)."""
    state, server, thread = serve()
    try:
        yield state
    finally:
        server.should_exit = True
        thread.join(5)


def reply_files(*files: tuple[str, str]) -> str:
    """A model-style reply with whole files, each after a ``# File:`` line in a fenced block."""
    return "\n\n".join(f"# File: {path}\n```python\n{content}\n```" for path, content in files) + "\n"


def main(argv: list[str] | None = None) -> None:
    """Serve in the foreground, as a process a test can kill: every request answers the same reply.

    ``python -m tests.fakes.openai_server --port P --reply-file F [--delay S] [--log L]``; each
    request appends one line to L when it arrives, so a test knows a call is in flight.
    """
    import argparse
    from pathlib import Path

    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--reply-file", type=Path, required=True)
    parser.add_argument("--delay", type=float, default=0.0)
    parser.add_argument("--log", type=Path)
    args = parser.parse_args(argv)
    state = ScriptedLLM()
    state.script(Step(text=args.reply_file.read_text(), delay_s=args.delay))
    app = _app(state)
    if args.log is not None:
        log: Path = args.log

        @app.middleware("http")
        async def note(request: Request, call_next: Any) -> Response:
            with log.open("a") as fh:
                fh.write(f"{request.method} {request.url.path}\n")
            response: Response = await call_next(request)
            return response

    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="error", lifespan="off")


if __name__ == "__main__":
    main()


__all__ = ["ScriptedLLM", "Step", "reply_files", "serve"]
