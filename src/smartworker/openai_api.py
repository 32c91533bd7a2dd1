"""Where an OpenAI-compatible server answers: one rule for the LLM and the embeddings clients."""

from __future__ import annotations


def endpoint(url: str, resource: str) -> str:
    """``<base>/v1/<resource>`` from a URL given as the server's base, its ``/v1`` or the full endpoint.

    Users paste any of the three (llama.cpp, vLLM, Ollama and OpenAI document different ones).
    """
    base = url.rstrip("/")
    if base.endswith("/" + resource):
        return base
    if base.endswith("/v1"):
        return f"{base}/{resource}"
    return f"{base}/v1/{resource}"
