"""The dashboard's session cookie and CSRF tokens, signed with HMAC-SHA256 (stdlib only).

The cookie names the API key a person logged in with (its id, never its secret), a random nonce
and an expiry; it is signed with a secret kept in Redis, so every API process sharing that Redis
accepts it and a restart does not log anyone out. The key is looked up again on every request, so
revoking it ends its sessions at once. A CSRF token is the HMAC of the session's nonce: a form
from another site cannot know it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass

import redis.asyncio as aioredis

from smartworker.keys import OWN_PREFIX

#: Name of the session cookie (the API's security dependency reads it too).
COOKIE = "sw_session"
#: How long a login lasts.
SESSION_S = 12 * 3600
#: Redis key of the signing secret, created on first use.
SECRET_KEY = f"{OWN_PREFIX}:ui:session-secret"


@dataclass(frozen=True)
class Session:
    """What a valid cookie says."""

    key_id: str | None  #: the API key logged in with; None for a session of an open (keyless) API
    nonce: str
    expires: int  #: epoch seconds


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Signer:
    """Signs and checks session cookies and CSRF tokens with the shared secret."""

    def __init__(self, redis: aioredis.Redis) -> None:
        self.redis = redis
        self._secret: bytes | None = None

    async def secret(self) -> bytes:
        """The signing secret: read from Redis, created there by the first process that needs it."""
        if self._secret is None:
            await self.redis.set(SECRET_KEY, secrets.token_hex(32), nx=True)
            stored = await self.redis.get(SECRET_KEY)
            value = stored.decode() if isinstance(stored, bytes) else str(stored)
            self._secret = value.encode()
        return self._secret

    async def _mac(self, text: str) -> str:
        return _b64(hmac.new(await self.secret(), text.encode(), hashlib.sha256).digest())

    async def issue(self, key_id: str | None, lifetime_s: int = SESSION_S) -> tuple[Session, str]:
        """A new session and its cookie value."""
        session = Session(key_id, secrets.token_urlsafe(16), int(time.time()) + lifetime_s)
        body = _b64(json.dumps({"k": key_id, "n": session.nonce, "e": session.expires}).encode())
        return session, f"{body}.{await self._mac(body)}"

    async def read(self, cookie: str | None) -> Session | None:
        """The session a cookie carries, or None when it is missing, forged or expired."""
        if not cookie or cookie.count(".") != 1:
            return None
        body, mac = cookie.split(".")
        if not hmac.compare_digest(mac, await self._mac(body)):
            return None
        try:
            raw = json.loads(_unb64(body))
            session = Session(raw["k"], str(raw["n"]), int(raw["e"]))
        except (ValueError, KeyError, TypeError):
            return None
        if session.key_id is not None and not isinstance(session.key_id, str):
            return None
        return session if session.expires > time.time() else None

    async def csrf(self, session: Session) -> str:
        """The CSRF token of a session."""
        return await self._mac("csrf:" + session.nonce)

    async def check_csrf(self, session: Session | None, token: str | None) -> bool:
        """True when ``token`` is the session's CSRF token."""
        if session is None or not token:
            return False
        return hmac.compare_digest(token, await self.csrf(session))
