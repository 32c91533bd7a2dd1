"""HTTP routes that manage API keys (admin only); the CLI's ``smartworker keys`` does the same."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request

from smartworker.api.schemas import ApiKeyCreated, ApiKeyIn, ApiKeyView, Message
from smartworker.api.security import api_keys, require
from smartworker.auth import Role
from smartworker.errors import KeyNotFoundError

router = APIRouter(prefix="/keys", tags=["access"], dependencies=[Depends(require(Role.ADMIN))])


@router.get("", response_model=list[ApiKeyView])
async def list_keys(request: Request) -> list[ApiKeyView]:
    """Every API key: id, name, role, creation time (never the secret)."""
    return [ApiKeyView(**k) for k in await api_keys(request).list()]


@router.post("", response_model=ApiKeyCreated, status_code=201)
async def create_key(body: ApiKeyIn, request: Request) -> ApiKeyCreated:
    """A new key; its secret is in this answer only."""
    store = api_keys(request)
    key_id, secret = await store.create(body.role, body.name)
    listed = next(k for k in await store.list() if k["id"] == key_id)
    return ApiKeyCreated(**listed, secret=secret)


@router.delete("/{key_id}", response_model=Message, responses={404: {"model": Message}})
async def revoke_key(key_id: Annotated[str, Path(max_length=64)], request: Request) -> Message:
    """Revoke a key at once: the next request that presents it gets 401."""
    if not await api_keys(request).revoke(key_id):
        raise KeyNotFoundError(f"no API key with id {key_id!r}")
    return Message(detail=f"revoked {key_id}")
