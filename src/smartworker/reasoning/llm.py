"""Client for OpenAI-compatible chat completions (llama.cpp server, vLLM, Ollama, OpenAI)."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any

import httpx

from smartworker.config import Settings
from smartworker.errors import LLMError
from smartworker.logs import get_logger
from smartworker.openai_api import endpoint

log = get_logger(__name__)

#: Statuses worth another try: rate limits and server-side trouble.
RETRY_STATUSES = frozenset({408, 409, 425, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class Completion:
    """One answer of the model."""

    text: str
    prompt_tokens: int
    completion_tokens: int
    model: str
    duration_s: float
    finish_reason: str | None = None

    @property
    def total_tokens(self) -> int:
        """Prompt plus completion tokens."""
        return self.prompt_tokens + self.completion_tokens


def chat_url(base: str) -> str:
    """``…/v1/chat/completions`` from a base URL given with or without ``/v1``."""
    return endpoint(base, "chat/completions")


class ChatClient:
    """Chat completions with a timeout, and retries with backoff on 429, 5xx and connection errors."""

    def __init__(self, base_url: str, model: str, *, api_key: str | None = None, timeout_s: float = 120.0,
                 max_retries: int = 3, max_tokens: int = 1024, backoff_s: float = 0.5,
                 ready: Awaitable[Any] | None = None) -> None:
        self.url = chat_url(base_url)
        self._ready = ready
        self.model = model
        self.max_retries = max_retries
        self.max_tokens = max_tokens
        self.backoff_s = backoff_s
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.AsyncClient(timeout=httpx.Timeout(timeout_s, connect=min(10.0, timeout_s)),
                                       headers=headers)

    @classmethod
    def from_settings(cls, settings: Settings, base_url: str | None = None, *,
                      ready: Awaitable[Any] | None = None) -> ChatClient:
        """A client for AI_SERVICE_URL (or ``base_url``, e.g. the local model's server).

        ``ready``, when given, is awaited before the first call (a local server still loading)."""
        url = base_url or settings.ai_service_url
        if not url:
            raise LLMError("no LLM configured: set AI_SERVICE_URL or install the local model")
        return cls(url, settings.ai_model_name, api_key=settings.ai_api_key, timeout_s=settings.ai_timeout_s,
                   max_retries=settings.ai_max_retries, max_tokens=settings.ai_max_tokens, ready=ready)

    async def close(self) -> None:
        """Close the HTTP connection pool."""
        await self._http.aclose()

    async def complete(self, messages: list[dict[str, str]], *, temperature: float = 0.2,
                       max_tokens: int | None = None, seed: int | None = None) -> Completion:
        """Ask for one completion. Raises LLMError with a clear reason when no usable answer comes."""
        if self._ready is not None:
            try:
                await asyncio.shield(self._ready)
            except Exception as exc:
                raise LLMError(f"the LLM server did not start: {exc}") from None
        body: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "temperature": temperature,
            "max_tokens": max_tokens or self.max_tokens,
            "stream": False,
        }
        if seed is not None:
            body["seed"] = seed
        last = "no attempt made"
        hint: float | None = None  #: the server's Retry-After, for the next pause only
        for attempt in range(self.max_retries + 1):
            if attempt:
                await asyncio.sleep(self._delay(attempt, hint))
                hint = None
            started = time.monotonic()
            try:
                response = await self._http.post(self.url, json=body)
            except httpx.ConnectTimeout:
                last = "connection timed out"
                continue
            except httpx.TimeoutException:
                # Not retried: the server is most likely still generating the first answer, and a
                # second identical request would queue behind it and time out the same way.
                log.warning("LLM call timed out", timeout_s=self._http.timeout.read)
                raise LLMError(f"timed out after {self._http.timeout.read}s") from None
            except httpx.TransportError as exc:
                last = f"connection failed: {exc}"
                log.warning("LLM connection failed", attempt=attempt + 1, error=str(exc))
                continue
            if response.status_code in RETRY_STATUSES:
                last = f"HTTP {response.status_code}"
                hint = _retry_after(response)
                log.warning("LLM answered with a retryable status", status=response.status_code)
                continue
            if response.status_code >= 400:
                raise LLMError(f"LLM answered HTTP {response.status_code}: {response.text[:200]}")
            return _parse(response, time.monotonic() - started, self.model)
        raise LLMError(f"LLM gave no answer after {self.max_retries + 1} tries: {last}")

    def _delay(self, attempt: int, hinted: float | None) -> float:
        if hinted is not None:
            return min(hinted, 30.0)
        # Full jitter: many workers hitting one rate-limited server should not retry in step.
        return float(random.uniform(0, self.backoff_s * 2 ** (attempt - 1)))  # noqa: S311


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _parse(response: httpx.Response, duration: float, model: str) -> Completion:
    try:
        payload = response.json()
    except ValueError:
        raise LLMError(f"LLM reply is not JSON: {response.text[:200]!r}") from None
    choices = payload.get("choices") if isinstance(payload, dict) else None
    if not choices or not isinstance(choices, list) or not isinstance(choices[0], dict):
        raise LLMError("LLM reply has no choices")
    message = choices[0].get("message") or {}
    text = message.get("content") if isinstance(message, dict) else None
    if not isinstance(text, str) or not text.strip():
        raise LLMError("LLM reply is empty")
    usage = payload.get("usage") or {}
    return Completion(
        text=text,
        prompt_tokens=int(usage.get("prompt_tokens") or 0),
        completion_tokens=int(usage.get("completion_tokens") or 0),
        model=str(payload.get("model") or model),
        duration_s=duration,
        finish_reason=choices[0].get("finish_reason"),
    )
