"""The embedding cache in front of any provider, and the length buckets of local embedding."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from smartworker.memory.embeddings import CachedEmbeddings, Vectors, length_buckets


class CountingEmbeddings:
    """A provider that records every text it is asked to embed (a deterministic vector per text)."""

    model_id = "counting"

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    async def dimension(self) -> int:
        return 4

    async def embed(self, texts: Sequence[str]) -> Vectors:
        self.calls.append(list(texts))
        return np.array([[len(t), ord(t[0]), 1.0, 0.0] for t in texts], dtype=np.float32)

    async def aclose(self) -> None:
        return None


async def test_each_distinct_text_is_embedded_once() -> None:
    inner = CountingEmbeddings()
    cache = CachedEmbeddings(inner)
    first = await cache.embed(["alpha", "beta", "alpha"])
    assert inner.calls == [["alpha", "beta"]]  # the repeat inside one call too
    assert np.array_equal(first[0], first[2]) and first.shape == (3, 4)
    again = await cache.embed(["beta", "alpha"])
    assert inner.calls == [["alpha", "beta"]]  # a repeat embeds nothing
    assert np.array_equal(again, first[[1, 0]])
    await cache.embed(["beta", "gamma"])
    assert inner.calls[-1] == ["gamma"]
    assert cache.embedded == 3 and cache.hits == 3


async def test_the_cache_is_bounded_and_keeps_the_recently_used() -> None:
    inner = CountingEmbeddings()
    cache = CachedEmbeddings(inner, entries=2)
    await cache.embed(["a1", "b1"])
    await cache.embed(["a1"])  # a1 is now the most recent
    await cache.embed(["c1"])  # evicts b1
    assert len(cache) == 2 and cache.missing(["a1", "b1", "c1"]) == ["b1"]
    await cache.embed(["b1"])
    assert inner.calls[-1] == ["b1"]


async def test_seeded_vectors_are_used() -> None:
    inner = CountingEmbeddings()
    cache = CachedEmbeddings(inner)
    cache.seed(["stored"], [np.ones(4, dtype=np.float32)])
    out = await cache.embed(["stored"])
    assert inner.calls == [] and np.array_equal(out[0], np.ones(4))
    assert (await cache.embed([])).shape == (0, 4)


def test_length_buckets_group_similar_lengths() -> None:
    lengths = [11, 103, 37, 11, 100, 28, 30]
    buckets = length_buckets(lengths)
    assert sorted(i for b in buckets for i in b) == list(range(len(lengths)))
    assert buckets == [[0, 3], [5, 6], [2], [4, 1]]
    for bucket in buckets:
        assert max(lengths[i] for i in bucket) <= 1.25 * min(lengths[i] for i in bucket)
