"""create_app(): the FastAPI application, with one handler that turns our errors into answers."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from smartworker.errors import SmartWorkerError

if TYPE_CHECKING:
    from smartworker.service import Service


def _field(loc: tuple[object, ...] | list[object]) -> str:
    return ".".join(str(part) for part in loc)


def create_app(service: Service) -> FastAPI:
    """The HTTP API over one running service."""
    from smartworker import __version__, ui
    from smartworker.api import routes

    app = FastAPI(
        title="SmartWorker",
        version=__version__,
        description="BullMQ jobs that repair themselves: queue, dead-letter queue, AI fixes, memory.",
    )
    app.state.service = service

    @app.exception_handler(SmartWorkerError)
    async def _ours(_: Request, exc: SmartWorkerError) -> JSONResponse:
        return JSONResponse({"detail": exc.message}, status_code=exc.http_status)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        first = errors[0] if errors else {}
        message = f"{_field(first.get('loc', ()))}: {first.get('msg', 'invalid')}" if first else "invalid request"
        safe = [{"field": _field(e.get("loc", ())), "message": e.get("msg", "")} for e in errors]
        return JSONResponse({"detail": message, "errors": safe}, status_code=422)

    routes.install(app)
    ui.install(app)  # the dashboard at /ui (smartworker/ui)
    return app
