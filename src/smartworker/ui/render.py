"""The Jinja2 templates of the pages and the filters they use."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, select_autoescape

from smartworker.ui.metrics import Series

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"


def when(ms: Any) -> str:
    """Epoch milliseconds as a UTC time a person reads ("2026-12-01 10:04:05"), "–" for none."""
    try:
        value = int(ms)
    except (TypeError, ValueError):
        return "–"
    if value <= 0:
        return "–"
    return datetime.fromtimestamp(value / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")


def pretty(value: Any) -> str:
    """A JSON value indented for a <pre> block."""
    return json.dumps(value, indent=2, sort_keys=True, default=str, ensure_ascii=False)


def duration(start: Any, end: Any) -> str:
    """Time between two epoch-millisecond stamps ("1.25 s"), "–" when either is missing."""
    try:
        ms = int(end) - int(start)
    except (TypeError, ValueError):
        return "–"
    if ms < 0:
        return "–"
    return f"{ms} ms" if ms < 1000 else f"{ms / 1000:.2f} s"


def chart_bars(series: Series, width: int = 600, height: int = 120) -> list[dict[str, Any]]:
    """Stacked bars (completed under failed) of a per-minute series, as SVG rectangles."""
    bar = width / len(series.completed)
    peak = series.peak
    bars = []
    for i, (done, failed) in enumerate(zip(series.completed, series.failed, strict=True)):
        h_done = height * done / peak
        h_failed = height * failed / peak
        minute = series.end_minute - (len(series.completed) - 1 - i)
        label = datetime.fromtimestamp(minute * 60, tz=UTC).strftime("%H:%M")
        bars.append({"x": round(i * bar, 2), "w": round(max(bar - 1, 1), 2),
                     "done_y": round(height - h_done, 2), "done_h": round(h_done, 2),
                     "failed_y": round(height - h_done - h_failed, 2), "failed_h": round(h_failed, 2),
                     "title": f"{label} UTC: {done} completed, {failed} failed"})
    return bars


def environment() -> Environment:
    """The template environment: HTML escaped everywhere, our filters added."""
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html"]),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters.update(when=when, pretty=pretty, duration=duration)
    env.globals.update(chart_bars=chart_bars)
    return env


templates = Jinja2Templates(env=environment())
