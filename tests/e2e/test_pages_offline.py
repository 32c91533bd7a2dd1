"""Every page the app serves works offline: a real browser (Debian's chromium through Playwright)
loads each one and every request it makes goes to the app itself."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import uvicorn
from tests.conftest import require
from tests.e2e.conftest import free_port

from smartworker.api.app import create_app

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture
def base_url(service: Any) -> Iterator[str]:
    """The API over a real service, served on a free loopback port."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(service), host="127.0.0.1", port=port, log_config=None,
                                           lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


def html_pages(base_url: str) -> list[str]:
    """Every GET route of the app that answers with HTML (the documentation pages, and any other)."""
    import httpx

    spec = httpx.get(base_url + "/openapi.json").json()
    pages = ["/docs", "/redoc"]
    for path, ops in spec["paths"].items():
        get = ops.get("get")
        if get and "{" not in path and "text/html" in get.get("responses", {}).get("200", {}).get("content", {}):
            pages.append(path)
    return pages


# What shows that a documentation page really rendered the spec from the local files: Swagger UI
# lists the operations, ReDoc shows the API's title.
RENDERED: dict[str, tuple[str, Any]] = {
    "/docs": (".opblock-summary-path", lambda page: page.locator(".opblock-summary-path").count() > 5),
    "/redoc": ("h1", lambda page: "SmartWorker" in page.locator("h1").first.inner_text()),
}


def test_every_page_loads_only_from_the_app(base_url: str) -> None:
    require(CHROMIUM is not None, "no chromium (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    outside: list[str] = []
    failed: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page()

            def guard(route: Any) -> None:
                # Every request that reaches the network: one for another host is recorded and
                # stopped (a request the page's Content-Security-Policy blocks never gets here).
                if urlsplit(route.request.url).hostname != "127.0.0.1":
                    outside.append(route.request.url)
                    route.abort()
                else:
                    route.continue_()

            page.route("**/*", guard)
            # ERR_ABORTED is the browser dropping a request the page no longer needs when the test
            # moves on (the overview's refresh in flight); a page that cannot load offline shows as
            # a request to another host above or as a refused or failed one here.
            page.on("requestfailed", lambda request: request.failure not in ("csp", "net::ERR_ABORTED")
                    and failed.append(f"{request.url}: {request.failure}"))
            for path in html_pages(base_url):
                page.goto(base_url + path, wait_until="networkidle")
                # "networkidle" can come before a documentation page's script asks for the spec
                # (parsing its bundle takes longer than the idle window on a busy machine), and
                # the next goto would then abort that request: wait for the page to show it.
                if path in RENDERED:
                    selector, shown = RENDERED[path]
                    page.wait_for_selector(selector, timeout=30_000)
                    assert shown(page), f"{path} did not render the API from the local files"
        finally:
            browser.close()
    assert outside == [], f"requests that leave the machine: {outside}"
    assert failed == [], f"requests that failed: {failed}"
