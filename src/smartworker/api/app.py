"""create_app(): the FastAPI application, with one handler that turns our errors into answers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from smartworker.api.limits import BodyLimit
from smartworker.api.openapi import published_errors
from smartworker.errors import AuthenticationError, InvalidJobOptionsError, SmartWorkerError
from smartworker.logs import get_logger
from smartworker.options import field_name, first_problem

if TYPE_CHECKING:
    from smartworker.service import Service

log = get_logger(__name__)


def create_app(service: Service) -> FastAPI:
    """The HTTP API over one running service."""
    from smartworker import __version__, ui
    from smartworker.api import routes

    app = FastAPI(
        title="SmartWorker",
        version=__version__,
        description="BullMQ jobs that repair themselves: queue, dead-letter queue, AI fixes, memory. "
                    "Send an API key as `Authorization: Bearer <key>` unless the API is open "
                    "(bound to loopback and no key created).",
    )
    app.state.service = service

    @app.exception_handler(SmartWorkerError)
    async def _ours(_: Request, exc: SmartWorkerError) -> JSONResponse:
        if isinstance(exc, InvalidJobOptionsError):
            field = f"body.{exc.field}"
            message = exc.message.removeprefix(f"{exc.field}: ")
            return _invalid_body(field, [(field, message)])
        headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, AuthenticationError) else None
        return JSONResponse({"detail": exc.message}, status_code=exc.http_status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = list(exc.errors())
        field, message = first_problem(errors)
        every = [(field_name(tuple(e.get("loc", ()))), str(e.get("msg", "")).removeprefix("Value error, "))
                 for e in errors]
        return _invalid_body(field, every or [(field, message)], first=message)

    @app.exception_handler(RedisConnectionError)
    @app.exception_handler(RedisTimeoutError)
    async def _redis_down(_: Request, exc: Exception) -> JSONResponse:
        log.warning("Redis unreachable", error=str(exc))
        return JSONResponse({"detail": f"Redis is unavailable: {exc}"}, status_code=503)

    routes.install(app)
    ui.install(app)  # the dashboard at /ui (smartworker/ui)
    app.add_middleware(BodyLimit, limit=service.settings.max_body_bytes)
    published_errors(app)
    return app


def _invalid_body(field: str, errors: list[tuple[str, str]], first: str | None = None) -> JSONResponse:
    message = first if first is not None else errors[0][1]
    body: dict[str, Any] = {"detail": f"{field}: {message}" if field else message,
                            "errors": [{"field": f, "message": m} for f, m in errors]}
    return JSONResponse(body, status_code=422)
