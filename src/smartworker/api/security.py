"""Who is asking, and may they: FastAPI dependencies over API keys, the dashboard's session and
open mode, plus the guards every state-changing route shares (JSON only, same origin).

No ``from __future__ import annotations`` here: FastAPI reads the dependencies' annotations at
run time, and those of the closures below name local variables.
"""


from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar
from urllib.parse import urlsplit

from fastapi import Depends, FastAPI, Query, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from smartworker import keys
from smartworker.auth import ANONYMOUS, ApiKeys, Principal, Role, access, environment_principal
from smartworker.errors import AuthenticationError, PermissionDeniedError, UnsupportedMediaTypeError
from smartworker.redaction import redact

#: Resolves the dashboard's session cookie to a Principal (None: no valid session).
SessionResolver = Callable[[Request], Awaitable[Principal | None]]
T = TypeVar("T")

_bearer = HTTPBearer(auto_error=False, scheme_name="ApiKey",
                     description="An API key from `smartworker keys create` (or APP_API_KEY)")
_UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def api_keys(request: Request) -> ApiKeys:
    """The key store of the service behind this app."""
    queues = request.app.state.service.queues
    return ApiKeys(queues.redis, keys.access_prefix(queues.names.main))


def use_sessions(app: FastAPI, resolve: SessionResolver) -> None:
    """Let ``require`` accept the dashboard's session (asked when a request carries no Bearer key)."""
    app.state.session_resolver = resolve


async def principal_for_secret(request: Request, secret: str) -> Principal | None:
    """The principal an API key secret stands for (APP_API_KEY or a stored key), or None."""
    return environment_principal(request.app.state.service.settings, secret) or await api_keys(request).verify(secret)


async def authenticate(request: Request, credentials: HTTPAuthorizationCredentials | None) -> Principal:
    """The principal behind a request: its Bearer key, else its session, else anonymous when the
    API is open; AuthenticationError (401) otherwise."""
    if credentials is not None:
        principal = await principal_for_secret(request, credentials.credentials)
        if principal is None:
            raise AuthenticationError("this API key is unknown or was revoked")
        return principal
    resolver: SessionResolver | None = getattr(request.app.state, "session_resolver", None)
    if resolver is not None:
        principal = await resolver(request)
        if principal is not None:
            return principal
    if (await access(request.app.state.service.settings, api_keys(request))).open:
        return ANONYMOUS
    raise AuthenticationError()


def require(role: Role) -> Callable[..., Awaitable[Principal]]:
    """A dependency that answers 401 without a valid key and 403 when its role is below ``role``."""

    async def dependency(request: Request,
                         credentials: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)]) -> Principal:
        principal = await authenticate(request, credentials)
        if not principal.can(role):
            raise PermissionDeniedError(f"the key {principal.name!r} has the {principal.role} role; "
                                        f"this needs {role}")
        request.state.principal = principal
        return principal

    dependency.__name__ = f"require_{role.value}"
    return dependency


@dataclass(frozen=True)
class View:
    """How answers are shown to one caller: redacted, or raw for an admin who asked for it."""

    principal: Principal
    raw: bool

    def show(self, value: T) -> T:
        """``value`` as this caller may see it."""
        shown: T = value if self.raw else redact(value)
        return shown


def viewer(role: Role = Role.VIEWER) -> Callable[..., Awaitable[View]]:
    """A dependency for routes that show job data: ``?raw=true`` (admin only) turns redaction off."""
    needed = require(role)

    async def dependency(
        principal: Annotated[Principal, Depends(needed)],
        raw: Annotated[bool, Query(description="admin only: show job data, reasons and tracebacks unredacted")] = False,
    ) -> View:
        if raw and not principal.can(Role.ADMIN):
            raise PermissionDeniedError(f"raw values are for admins; the key {principal.name!r} has the "
                                        f"{principal.role} role")
        return View(principal, raw)

    return dependency


async def json_only(request: Request) -> None:
    """Refuse a state-changing request that a web page on another site could have sent.

    A browser sends a form or a no-cors fetch to any address without asking first, with a form
    content type or none, and always with an Origin (or Sec-Fetch-Site) naming the page's site.
    """
    if request.method not in _UNSAFE_METHODS:
        return
    if request.headers.get("sec-fetch-site") == "cross-site" or not _same_origin(request):
        raise PermissionDeniedError("cross-site request refused: call the API from its own origin or without a browser")
    content_type = request.headers.get("content-type")
    if content_type is not None and not _is_json(content_type):
        raise UnsupportedMediaTypeError(f"expected application/json, got {content_type.split(';')[0].strip()!r}")


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if origin is None:
        return True
    return urlsplit(origin).netloc.lower() == request.headers.get("host", "").lower()


def _is_json(content_type: str) -> bool:
    media = content_type.split(";")[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


def route_dependencies(role: Role) -> list[Any]:
    """Dependencies of a state-changing route: the JSON/same-origin guard, then the role."""
    return [Depends(json_only), Depends(require(role))]
