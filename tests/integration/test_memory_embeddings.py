"""The embedding providers: the HTTP one against a fake OpenAI-compatible service, the factory."""

from __future__ import annotations

import json

import httpx
import numpy as np
import pytest

from smartworker.config import Settings
from smartworker.errors import EmbeddingError
from smartworker.memory.embeddings import HttpEmbeddings, LocalEmbeddings, embeddings_endpoint, make_provider


def _service(calls: list[list[str]], dim: int = 3, status: int = 200) -> httpx.AsyncClient:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/v1/embeddings"
        body = json.loads(request.content)
        calls.append(body["input"])
        # answer out of order: the provider must sort by index
        data = [{"index": i, "embedding": [float(len(t)), float(i), 1.0][:dim]} for i, t in enumerate(body["input"])]
        return httpx.Response(status, json={"data": list(reversed(data)), "model": body["model"]})

    return httpx.AsyncClient(transport=httpx.MockTransport(handler))


async def test_http_provider_batches_and_keeps_order() -> None:
    calls: list[list[str]] = []
    provider = HttpEmbeddings("http://emb.local", "m", batch_size=2, client=_service(calls))
    vectors = await provider.embed(["a", "bb", "ccc", "dddd", "eeeee"])
    assert [len(c) for c in calls] == [2, 2, 1]
    assert vectors.shape == (5, 3) and vectors.dtype == np.float32
    assert vectors[:, 0].tolist() == [1, 2, 3, 4, 5]
    assert await provider.dimension() == 3
    await provider.aclose()


async def test_http_provider_probes_the_dimension() -> None:
    calls: list[list[str]] = []
    provider = HttpEmbeddings("http://emb.local/v1", "m", client=_service(calls, dim=2))
    assert await provider.dimension() == 2
    assert len(calls) == 1
    await provider.aclose()


async def test_http_errors_become_embedding_errors() -> None:
    provider = HttpEmbeddings("http://emb.local", "m", client=_service([], status=503))
    with pytest.raises(EmbeddingError, match=r"emb\.local"):
        await provider.embed(["x"])
    await provider.aclose()


def test_endpoint_forms() -> None:
    assert embeddings_endpoint("http://h:1") == "http://h:1/v1/embeddings"
    assert embeddings_endpoint("http://h:1/v1/") == "http://h:1/v1/embeddings"
    assert embeddings_endpoint("http://h:1/v1/embeddings") == "http://h:1/v1/embeddings"


def test_factory_follows_settings() -> None:
    assert isinstance(make_provider(Settings(_env_file=None)), LocalEmbeddings)  # type: ignore[call-arg]
    http = Settings(_env_file=None, AI_EMBEDDING_PROVIDER="http", AI_EMBEDDING_URL="http://e:9")  # type: ignore[call-arg]
    assert isinstance(make_provider(http), HttpEmbeddings)
    with pytest.raises(EmbeddingError, match="AI_EMBEDDING_URL"):
        make_provider(Settings(_env_file=None, AI_EMBEDDING_PROVIDER="http"))  # type: ignore[call-arg]
