"""API keys and roles: who may read, operate and administer SmartWorker.

A key is ``sw_<key id>_<random>``; Redis keeps only its SHA-256 (the secret is shown once, at
creation). A plain hash is enough because the secret is 256 random bits, not a password a person
chose: there is nothing to guess, so a slow hash would only slow every request down.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import secrets
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from smartworker.errors import ConfigurationError

if TYPE_CHECKING:
    import redis.asyncio

    from smartworker.config import Settings

#: What every key secret starts with, so a leaked one is easy to recognise (and to redact).
SECRET_PREFIX = "sw_"  # noqa: S105 - a prefix, not a secret


class Role(StrEnum):
    """What a principal may do; each role may do everything the ones before it may."""

    VIEWER = "viewer"  #: reads jobs, the dead-letter queue, fixes and memory (redacted)
    OPERATOR = "operator"  #: also enqueues, retries and starts fixes
    ADMIN = "admin"  #: also deletes, clears, manages keys and may ask for raw (unredacted) values

    @property
    def rank(self) -> int:
        """Position in viewer < operator < admin."""
        return _RANKS[self]

    # A StrEnum would otherwise compare alphabetically ("admin" < "viewer").
    def __lt__(self, other: str) -> bool:
        return self.rank < Role(other).rank

    def __le__(self, other: str) -> bool:
        return self.rank <= Role(other).rank

    def __gt__(self, other: str) -> bool:
        return self.rank > Role(other).rank

    def __ge__(self, other: str) -> bool:
        return self.rank >= Role(other).rank


_RANKS = {Role.VIEWER: 0, Role.OPERATOR: 1, Role.ADMIN: 2}


@dataclass(frozen=True)
class Principal:
    """Who is asking: a key's name and role, or ``anonymous`` when the API is open."""

    name: str
    role: Role
    key_id: str | None

    def can(self, needed: Role) -> bool:
        """True when this principal's role includes ``needed``."""
        return self.role >= needed


#: The caller of an open API (bound to loopback, no key created): the machine's own user.
ANONYMOUS = Principal("anonymous", Role.ADMIN, None)
#: The caller presenting APP_API_KEY (a key given in the environment, e.g. to a container).
ENVIRONMENT_KEY_NAME = "APP_API_KEY"


def digest(secret: str) -> str:
    """The stored form of a secret."""
    return hashlib.sha256(secret.encode()).hexdigest()


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class ApiKeys:
    """API keys in one Redis hash: key id -> name, role, SHA-256 of the secret, creation time."""

    def __init__(self, redis: redis.asyncio.Redis, prefix: str) -> None:
        self._redis = redis
        self._key = f"{prefix}:apikeys"

    async def create(self, role: Role, name: str) -> tuple[str, str]:
        """A new key for ``role``: (key id, secret). The secret is not stored and cannot be shown again."""
        role = Role(role)
        while True:
            key_id = secrets.token_hex(6)
            secret = f"{SECRET_PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
            record = {"name": name, "role": role.value, "sha256": digest(secret), "created": int(time.time() * 1000)}
            if await self._redis.hsetnx(self._key, key_id, json.dumps(record)):
                return key_id, secret

    async def verify(self, secret: str) -> Principal | None:
        """The principal a secret stands for, or None when it is unknown, malformed or revoked."""
        if not secret.startswith(SECRET_PREFIX):
            return None
        key_id, _, rest = secret[len(SECRET_PREFIX):].partition("_")
        if not key_id or not rest:
            return None
        raw = await self._redis.hget(self._key, key_id)
        if raw is None:
            return None
        record = json.loads(_text(raw))
        if not hmac.compare_digest(str(record.get("sha256", "")), digest(secret)):
            return None
        return Principal(str(record.get("name", key_id)), Role(record["role"]), key_id)

    async def list(self) -> list[dict[str, Any]]:
        """Every key without its hash, oldest first: id, name, role, created (ms)."""
        entries = await self._redis.hgetall(self._key)
        out = []
        for key_id, raw in entries.items():
            record = json.loads(_text(raw))
            out.append({"id": _text(key_id), "name": record.get("name", ""), "role": record.get("role", ""),
                        "created": record.get("created", 0)})
        return sorted(out, key=lambda r: (r["created"], r["id"]))

    async def revoke(self, key_id: str) -> bool:
        """Delete a key; False when there was none with that id."""
        return bool(await self._redis.hdel(self._key, key_id))

    async def any(self) -> bool:
        """True when at least one key exists (the API is then closed to callers without one)."""
        return bool(await self._redis.hlen(self._key))


def environment_principal(settings: Settings, secret: str) -> Principal | None:
    """The admin principal of APP_API_KEY when ``secret`` is that key."""
    if settings.api_key and hmac.compare_digest(digest(secret), digest(settings.api_key)):
        return Principal(ENVIRONMENT_KEY_NAME, Role.ADMIN, None)
    return None


def is_loopback(host: str) -> bool:
    """True when binding ``host`` exposes the API to this machine only."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name other than localhost may resolve anywhere


@dataclass(frozen=True)
class Access:
    """Whether the API asks for keys, and the sentence that says so (for the ready banner)."""

    open: bool  #: every caller is ``anonymous`` with the admin role
    keyed: bool  #: a key exists (in Redis or as APP_API_KEY)
    summary: str


async def access(settings: Settings, api_keys: ApiKeys) -> Access:
    """How the API on ``settings.host`` treats callers right now.

    Open only when bound to loopback and no key exists, neither in Redis nor as APP_API_KEY.
    """
    if settings.api_key or await api_keys.any():
        return Access(False, True, "API keys required (Authorization: Bearer <key>)")
    if is_loopback(settings.host):
        return Access(True, False, f"API open to anyone on this machine: bound to {settings.host} and no API key "
                                   "exists (smartworker keys create --role admin closes it)")
    return Access(False, False, f"API closed: bound to {settings.host} and no API key exists")


async def check_bind(settings: Settings, api_keys: ApiKeys) -> Access:
    """The API's access, or ConfigurationError when it would listen beyond loopback with no key."""
    found = await access(settings, api_keys)
    if not found.keyed and not is_loopback(settings.host):
        raise ConfigurationError(
            f"APP_HOST={settings.host} exposes the API beyond this machine and no API key exists: "
            "create one (smartworker keys create --role admin) or set APP_API_KEY"
        )
    return found


async def bind_access(settings: Settings, redis: redis.asyncio.Redis) -> Access:
    """For ``up`` and ``api`` before they listen: the access line of the ready banner, or
    ConfigurationError (one line) when the bind address is not loopback and no key exists."""
    from smartworker import keys

    return await check_bind(settings, ApiKeys(redis, keys.access_prefix(settings.queue_name)))
