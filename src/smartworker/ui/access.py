"""Who is looking at a page and what they may do: the one dependency every page and action uses.

A person logs in with an API key (``smartworker keys create``); the session cookie then stands for
that key and its role, looked up again on every request. When the API is open (bound to loopback,
no key created) everyone is the anonymous admin, as in the API. State-changing forms carry the
session's CSRF token and must come from the dashboard's own origin.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote, urlsplit

from fastapi import Request

from smartworker.auth import ANONYMOUS, ENVIRONMENT_KEY_NAME, ApiKeys, Principal, Role, access, digest
from smartworker.auth import environment_principal as _environment_principal
from smartworker.errors import AuthenticationError, PermissionDeniedError
from smartworker.keys import access_prefix
from smartworker.ui.session import COOKIE, Session, Signer

if TYPE_CHECKING:
    from smartworker.service import Service

#: Session key id of a login with APP_API_KEY (followed by a hash prefix of that key).
_ENV = "@env:"


class LoginRequired(AuthenticationError):
    """Log in with an API key to see this page."""

    def __init__(self, next_url: str = "/ui/") -> None:
        super().__init__()
        self.next_url = next_url


@dataclass(frozen=True)
class Visitor:
    """The person behind a request, as pages see them."""

    principal: Principal
    csrf: str  #: the token every form of the page carries
    logged_in: bool  #: False for the anonymous visitor of an open API

    @property
    def can_operate(self) -> bool:
        """May retry dead jobs and start fixes."""
        return self.principal.can(Role.OPERATOR)

    @property
    def can_admin(self) -> bool:
        """May delete dead jobs and clear the DLQ."""
        return self.principal.can(Role.ADMIN)


class Gate:
    """The dashboard's access rules over one service: sessions, keys, open mode."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self.signer = Signer(service.queues.redis)

    @property
    def keys(self) -> ApiKeys:
        """The API key store (the one the API uses)."""
        queues = self.service.queues
        return ApiKeys(queues.redis, access_prefix(queues.names.main))

    async def session_of(self, request: Request) -> Session | None:
        """The valid session the request's cookie carries, if any."""
        return await self.signer.read(request.cookies.get(COOKIE))

    async def principal_of(self, session: Session | None) -> Principal | None:
        """The key a session stands for, None when it stands for none or its key was revoked."""
        if session is None or session.key_id is None:
            return None
        if session.key_id.startswith(_ENV):
            api_key = self.service.settings.api_key
            if api_key and digest(api_key)[:16] == session.key_id[len(_ENV):]:
                return Principal(ENVIRONMENT_KEY_NAME, Role.ADMIN, None)
            return None
        for key in await self.keys.list():
            if key["id"] == session.key_id:
                return Principal(str(key["name"]), Role(key["role"]), str(key["id"]))
        return None

    async def is_open(self) -> bool:
        """True while the API lets callers in without a key."""
        return (await access(self.service.settings, self.keys)).open

    async def log_in(self, secret: str) -> tuple[Principal, str] | None:
        """The principal of an API key secret and a session cookie for it, or None for a wrong key."""
        secret = secret.strip()
        principal = _environment_principal(self.service.settings, secret)
        if principal is not None:
            key_id = _ENV + digest(secret)[:16]
        else:
            principal = await self.keys.verify(secret)
            if principal is None or principal.key_id is None:
                return None
            key_id = principal.key_id
        _, cookie = await self.signer.issue(key_id)
        return principal, cookie

    async def resolve(self, request: Request) -> Principal | None:
        """The principal of the request's session (what the API's ``require`` asks the dashboard)."""
        return await self.principal_of(await self.session_of(request))


def _gate(request: Request) -> Gate:
    gate: Gate = request.app.state.ui_gate
    return gate


def _here(request: Request) -> str:
    path = request.url.path
    return path + ("?" + request.url.query if request.url.query else "")


async def visitor(request: Request) -> Visitor:
    """The page's visitor; LoginRequired (a redirect to the login page) when the API is closed and
    the request has no session of a valid key."""
    gate = _gate(request)
    session: Session = request.state.session  # set for every request by the sessions middleware
    principal = await gate.principal_of(session)
    if principal is not None:
        return Visitor(principal, await gate.signer.csrf(session), True)
    if await gate.is_open():
        return Visitor(ANONYMOUS, await gate.signer.csrf(session), False)
    raise LoginRequired(_here(request))


def login_url(next_url: str) -> str:
    """The login page, coming back to ``next_url`` afterwards."""
    return "/ui/login?next=" + quote(safe_next(next_url), safe="")


def safe_next(next_url: str | None) -> str:
    """``next_url`` when it is a dashboard path, else the overview (no redirect to another site)."""
    if not next_url or not next_url.startswith("/ui") or next_url.startswith("//") or "\\" in next_url:
        return "/ui/"
    return next_url


async def allowed(request: Request, role: Role) -> Visitor:
    """The visitor of a state-changing form post: same origin, a valid CSRF token, and ``role``."""
    found = await visitor(request)
    origin = request.headers.get("origin")
    if request.headers.get("sec-fetch-site") == "cross-site" or (
            origin is not None and urlsplit(origin).netloc.lower() != request.headers.get("host", "").lower()):
        raise PermissionDeniedError("cross-site form refused")
    form = await request.form()
    token = form.get("csrf")
    if not await _gate(request).signer.check_csrf(request.state.session, token if isinstance(token, str) else None):
        raise PermissionDeniedError("the form's CSRF token is missing or stale: reload the page and try again")
    if not found.principal.can(role):
        raise PermissionDeniedError(f"{found.principal.name} has the {found.principal.role} role; this needs {role}")
    return found
