"""The dashboard: server-rendered pages at ``/ui`` for queues, dead jobs, fixes and memory.

It is a small application of its own mounted into the API's, so its HTML error pages, sessions
and static files stay apart from the JSON API; the API accepts its session cookie through
``use_sessions`` (api/security.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.base import RequestResponseEndpoint

from smartworker.errors import SmartWorkerError
from smartworker.ui.access import Gate, LoginRequired, login_url
from smartworker.ui.health import Health
from smartworker.ui.jobs import QueueDirectory
from smartworker.ui.render import STATIC, templates
from smartworker.ui.session import COOKIE, SESSION_S

if TYPE_CHECKING:
    from smartworker.service import Service

#: Where the dashboard is mounted.
MOUNT = "/ui"


def create_ui(service: Service) -> FastAPI:
    """The dashboard application over one running service."""
    from smartworker.ui import pages

    ui = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    ui.state.service = service
    ui.state.ui_gate = Gate(service)
    ui.state.ui_health = Health(service)
    ui.state.ui_queues = QueueDirectory(service.queues.redis, service.settings.queue_prefix,
                                        service.queues.names.all)

    @ui.middleware("http")
    async def sessions(request: Request, call_next: RequestResponseEndpoint) -> Response:
        # Every visitor has a session, if only an anonymous one: CSRF tokens hang off it.
        gate: Gate = request.app.state.ui_gate
        try:
            session = await gate.session_of(request)
            issued = None
            if session is None:
                session, issued = await gate.signer.issue(None)
        except (RedisConnectionError, RedisTimeoutError) as exc:  # the signing secret lives in Redis
            return _error(request, 503, f"Redis is unavailable: {exc}")
        request.state.session = session
        response = await call_next(request)
        if issued is not None and not getattr(request.state, "session_replaced", False):
            response.set_cookie(COOKIE, issued, max_age=SESSION_S, httponly=True, samesite="strict", path="/",
                                secure=request.url.scheme == "https")
        response.headers.setdefault("Content-Security-Policy",
                                    "default-src 'self'; img-src 'self' data:; style-src 'self'; "
                                    "script-src 'self'; frame-ancestors 'none'; form-action 'self'")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response

    @ui.exception_handler(LoginRequired)
    async def _login(_: Request, exc: LoginRequired) -> Response:
        return RedirectResponse(login_url(exc.next_url), status_code=303)

    @ui.exception_handler(SmartWorkerError)
    async def _ours(request: Request, exc: SmartWorkerError) -> Response:
        status = exc.http_status if exc.http_status != 500 else 400
        return _error(request, status, exc.message)

    @ui.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0] if exc.errors() else {}
        field = ".".join(str(p) for p in first.get("loc", ())[1:]) or "request"
        return _error(request, 422, f"{field}: {first.get('msg', 'invalid')}")

    @ui.exception_handler(RedisConnectionError)
    @ui.exception_handler(RedisTimeoutError)
    async def _redis_down(request: Request, exc: Exception) -> Response:
        return _error(request, 503, f"Redis is unavailable: {exc}")

    @ui.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        return _error(request, exc.status_code, str(exc.detail))

    ui.include_router(pages.router)
    ui.mount("/static", StaticFiles(directory=STATIC), name="static")
    return ui


def _error(request: Request, status: int, message: str) -> HTMLResponse:
    response: HTMLResponse = templates.TemplateResponse(
        request, "error.html", {"visitor": None, "notice": None, "status": status, "message": message},
        status_code=status)
    return response


def install(app: FastAPI) -> None:
    """Mount the dashboard at ``/ui`` of the API app and let the API accept its sessions."""
    from smartworker.api.security import use_sessions

    ui = create_ui(app.state.service)
    app.mount(MOUNT, ui)
    use_sessions(app, ui.state.ui_gate.resolve)

    @app.get(MOUNT, include_in_schema=False)
    async def _slash() -> RedirectResponse:
        return RedirectResponse(MOUNT + "/", status_code=307)
