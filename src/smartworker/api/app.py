"""create_app(): the FastAPI application, with one handler that turns our errors into answers.

The API documentation pages (Swagger UI at /docs, ReDoc at /redoc) load their scripts and styles
from the app itself (the ``fastapi-offline`` package ships them), so they work without a network.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
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

#: Where the documentation pages' scripts and styles are served from.
DOCS_ASSETS_URL = "/static/docs"

#: What the documentation pages may load: the app's own files only. ReDoc's sidebar shows a logo
#: from its vendor's CDN that no option turns off; this policy stops the browser from fetching it.
DOCS_POLICY = ("default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
               "img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; connect-src 'self'")


def _install_docs(app: FastAPI) -> None:
    """Swagger UI at /docs and ReDoc at /redoc, on the assets the ``fastapi-offline`` package ships."""
    assets = Path(fastapi_offline.__file__).parent / "static"
    app.mount(DOCS_ASSETS_URL, StaticFiles(directory=assets), name="docs-assets")
    headers = {"Content-Security-Policy": DOCS_POLICY}

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        page = get_swagger_ui_html(
            openapi_url="/openapi.json", title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{DOCS_ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{DOCS_ASSETS_URL}/favicon.png",
            # Swagger UI would otherwise fetch a validity badge from swagger.io.
            swagger_ui_parameters={"validatorUrl": None})
        return HTMLResponse(bytes(page.body), headers=headers)

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        page = get_redoc_html(openapi_url="/openapi.json", title=f"{app.title} - ReDoc",
                              redoc_js_url=f"{DOCS_ASSETS_URL}/redoc.standalone.js",
                              redoc_favicon_url=f"{DOCS_ASSETS_URL}/favicon.png", with_google_fonts=False)
        return HTMLResponse(bytes(page.body), headers=headers)


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
        docs_url=None,
        redoc_url=None,
    )
    app.state.service = service
    _install_docs(app)

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
