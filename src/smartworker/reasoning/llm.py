"""Client for OpenAI-compatible chat completions (llama.cpp server, vLLM, Ollama, OpenAI), with a
circuit breaker that holds calls back while the server is unreachable.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx

from smartworker import keys
from smartworker.config import Settings
from smartworker.errors import LLMError, LLMUnavailableError
from smartworker.logs import get_logger
from smartworker.metrics import observed_completion
from smartworker.openai_api import endpoint

if TYPE_CHECKING:
    import redis.asyncio as aioredis

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


#: Statuses that say the server (or the proxy before it) is there but cannot answer at all.
UNAVAILABLE_STATUSES = frozenset({502, 503, 504})
#: Bound on the probe that asks a server in an outage whether it is back.
PROBE_TIMEOUT_S = 5.0


class CircuitBreaker:
    """Closed while the LLM answers; open after a call found it unreachable, for a pause that
    doubles with each failed try (``backoff_s`` up to ``max_backoff_s``). Once the pause is over
    the next caller tries again (half-open): success closes it, failure opens it for longer."""

    def __init__(self, backoff_s: float = 5.0, max_backoff_s: float = 300.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.backoff_s = backoff_s
        self.max_backoff_s = max(backoff_s, max_backoff_s)
        self._clock = clock
        self.trips = 0  #: failed tries in a row; 0 when closed
        self.reason = ""
        self._until = 0.0

    @property
    def closed(self) -> bool:
        """True when calls go ahead."""
        return self.trips == 0

    def wait_s(self) -> float:
        """Seconds until the next try is allowed (0 when closed or the pause is over)."""
        return 0.0 if self.closed else max(0.0, self._until - self._clock())

    def trip(self, reason: str) -> bool:
        """Record a failed try; True when this opened a closed breaker (an outage began)."""
        opened = self.closed
        self.trips += 1
        self.reason = reason
        pause = min(self.max_backoff_s, self.backoff_s * 2 ** (self.trips - 1))
        self._until = self._clock() + pause
        return opened

    def reset(self) -> bool:
        """Record a success; True when this closed an open breaker (an outage ended)."""
        was_open = not self.closed
        self.trips, self.reason, self._until = 0, "", 0.0
        return was_open


class Outages:
    """The LLM outage as every process sees it: one Redis record while it lasts (read by /health),
    and one alert when it begins, whichever worker noticed first."""

    def __init__(self, redis: aioredis.Redis, queue: str,
                 alert: Callable[[str, str], Awaitable[Any]] | None = None) -> None:
        self.redis = redis
        self._key = keys.llm_outage(queue)
        self._alert = alert

    async def begin(self, url: str, reason: str) -> None:
        """Note the outage; the first to note it sends the one alert."""
        record = json.dumps({"since": int(time.time() * 1000), "url": url, "reason": reason})
        if await self.redis.set(self._key, record, nx=True):
            log.error("LLM unavailable: resolutions are held back until it answers again", url=url, reason=reason)
            if self._alert is not None:
                await self._alert(
                    "LLM unavailable",
                    f"The LLM at {url} stopped answering ({reason}).\n\nResolutions of failed jobs are held back "
                    "and retried with backoff; they run when it answers again. No further alert is sent for "
                    "this outage.")

    async def end(self, url: str) -> None:
        """Note that the LLM answers again."""
        if await self.redis.delete(self._key):
            log.info("LLM answers again: held resolutions resume", url=url)


#: How long /health waits for the local model server's own /health.
LOCAL_PROBE_S = 1.0


async def llm_state(settings: Settings, redis: aioredis.Redis) -> str:
    """``down`` during an outage a worker noticed; for the bundled model, what its server says (``up``,
    ``loading``, or ``down`` when nothing listens); ``up`` for a remote one; else ``not configured``."""
    if await redis.exists(keys.llm_outage(settings.queue_name)):
        return "down"
    if settings.ai_service_url:
        return "up"
    if not (settings.ai_local_llm and importlib.util.find_spec("xllamacpp") is not None):
        return "not configured"
    # Installed is not running: ask the server `up` started.
    return await local_server_state(f"http://127.0.0.1:{settings.ai_local_llm_port}")


async def local_server_state(base_url: str) -> str:
    """``up``, ``loading`` (llama.cpp answers 503 while it loads the model) or ``down``."""
    try:
        async with httpx.AsyncClient(timeout=LOCAL_PROBE_S) as client:
            status = (await client.get(base_url.rstrip("/") + "/health")).status_code
    except httpx.HTTPError:
        return "down"
    return "up" if status == 200 else "loading" if status == 503 else "down"


class ChatClient:
    """Chat completions with a timeout, retries with backoff on 429, 5xx and connection errors, and a
    circuit breaker: while the server is unreachable calls fail at once with LLMUnavailableError."""

    def __init__(self, base_url: str, model: str, *, api_key: str | None = None, timeout_s: float = 120.0,
                 max_retries: int = 3, max_tokens: int = 1024, backoff_s: float = 0.5,
                 ready: Awaitable[Any] | None = None, breaker: CircuitBreaker | None = None) -> None:
        self.url = chat_url(base_url)
        self.breaker = breaker or CircuitBreaker()
        #: Where outages are reported beyond this process; set by whoever runs resolutions.
        self.outages: Outages | None = None
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
                   max_retries=settings.ai_max_retries, max_tokens=settings.ai_max_tokens, ready=ready,
                   breaker=CircuitBreaker(settings.ai_breaker_backoff_s, settings.ai_breaker_max_backoff_s))

    @classmethod
    def escalation_from_settings(cls, settings: Settings) -> ChatClient | None:
        """A client for AI_ESCALATION_URL (the stronger model), or None when none is configured. With
        AI_ESCALATION_CANDIDATES=0 it writes no candidate and is only the contract reviewer."""
        if not settings.ai_escalation_url:
            return None
        return cls(settings.ai_escalation_url, settings.ai_escalation_model or settings.ai_model_name,
                   api_key=settings.ai_escalation_api_key, timeout_s=settings.ai_timeout_s,
                   max_retries=settings.ai_max_retries, max_tokens=settings.ai_max_tokens,
                   breaker=CircuitBreaker(settings.ai_breaker_backoff_s, settings.ai_breaker_max_backoff_s))

    async def close(self) -> None:
        """Close the HTTP connection pool."""
        await self._http.aclose()

    async def available(self) -> float:
        """0 when calls may go ahead; else the seconds until the breaker tries the server again.

        When the pause is over, a cheap request (the model list) decides, so a held resolution is
        not started only to find the server still gone.
        """
        if self.breaker.closed:
            return 0.0
        wait = self.breaker.wait_s()
        if wait > 0:
            return wait
        try:
            response = await self._http.get(self.url.removesuffix("/chat/completions") + "/models",
                                            timeout=PROBE_TIMEOUT_S)
            reachable = response.status_code not in UNAVAILABLE_STATUSES
            reason = f"HTTP {response.status_code}"
        except httpx.HTTPError as exc:
            reachable, reason = False, f"{type(exc).__name__}: {exc}"
        if reachable:
            await self._answered()
            return 0.0
        await self._unreachable(reason)
        return self.breaker.wait_s()

    async def _unreachable(self, reason: str) -> LLMUnavailableError:
        if self.breaker.trip(reason) and self.outages is not None:
            await self.outages.begin(self.url, reason)
        log.warning("LLM unreachable: circuit open", reason=reason, retry_in_s=round(self.breaker.wait_s(), 1))
        return LLMUnavailableError(f"llm unavailable: {reason}")

    async def _answered(self) -> None:
        if self.breaker.reset() and self.outages is not None:
            await self.outages.end(self.url)

    @observed_completion
    async def complete(self, messages: list[dict[str, str]], *, temperature: float = 0.2,
                       max_tokens: int | None = None, seed: int | None = None) -> Completion:
        """Ask for one completion. Raises LLMError with a clear reason when no usable answer comes, and
        LLMUnavailableError when the server cannot be reached (at once while the circuit is open)."""
        if not self.breaker.closed and self.breaker.wait_s() > 0:
            raise LLMUnavailableError(f"llm unavailable: {self.breaker.reason}")
        if self._ready is not None:
            try:
                await asyncio.shield(self._ready)
            except Exception as exc:
                raise await self._unreachable(f"the LLM server did not start: {exc}") from None
        completion = await self._complete(messages, temperature=temperature, max_tokens=max_tokens, seed=seed)
        await self._answered()
        return completion

    async def _complete(self, messages: list[dict[str, str]], *, temperature: float, max_tokens: int | None,
                        seed: int | None) -> Completion:
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
        unreachable = True  #: every try so far failed to reach the server (or a proxy said it is gone)
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
                unreachable = unreachable and response.status_code in UNAVAILABLE_STATUSES
                hint = _retry_after(response)
                log.warning("LLM answered with a retryable status", status=response.status_code)
                continue
            if response.status_code >= 400:
                raise LLMError(f"LLM answered HTTP {response.status_code}: {response.text[:200]}")
            return _parse(response, time.monotonic() - started, self.model)
        if unreachable:
            raise await self._unreachable(last)
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
