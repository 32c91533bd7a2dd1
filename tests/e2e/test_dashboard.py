"""The dashboard in a real browser (Playwright driving Debian's chromium) against ``smartworker up``
on its own Redis, embedded PostgreSQL, real bwrap and an OpenAI-compatible server with scripted
replies. Every request the browser makes is routed through a check that fails the test on any
address that is not this machine.

Set UI_SCREENSHOTS=docs/screenshots to refresh the README's pictures from this run.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from tests.conftest import require
from tests.e2e.conftest import clean_env, free_port, smartworker, wait_http
from tests.fakes import openai_server
from tests.fakes.openai_server import ScriptedLLM, Step, reply_files
from tests.waiting import poll

from smartworker.config import DEMO_APP_ROOT

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
REMEMBER = (DEMO_APP_ROOT / "swdemo" / "remember.py").read_text()
# The demo job's bug: an integer account id added to a string (swdemo/remember.py).
GOOD_REMEMBER = REMEMBER.replace('"device:" + account["id"] + ":" + kind', 'f"device:{account[\'id\']}:{kind}"')
SECRET = "hunter2-Zq81"  # a password inside job data: no page may show it
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}


@dataclass
class System:
    """``smartworker up`` and what the tests need to talk to it."""

    base: str
    redis_url: str
    llm: ScriptedLLM
    keys: dict[str, str] = field(default_factory=dict)  #: role -> secret
    proc: subprocess.Popen[str] | None = None

    def api(self, method: str, path: str, **kw: Any) -> httpx.Response:
        """Call the HTTP API as the admin."""
        headers = {"Authorization": f"Bearer {self.keys['admin']}"}
        return httpx.request(method, self.base + path, headers=headers, timeout=10, **kw)


def _redis_server(port: int, directory: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", str(directory)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def _create_keys(redis_url: str) -> dict[str, str]:
    import redis.asyncio as aioredis

    from smartworker.auth import ApiKeys, Role
    from smartworker.keys import access_prefix

    client = aioredis.from_url(redis_url)
    try:
        store = ApiKeys(client, access_prefix("login"))
        return {role.value: (await store.create(role, f"{role.value}-key"))[1] for role in Role}
    finally:
        await client.aclose()


@pytest.fixture(scope="module")
def system() -> Iterator[System]:
    require(shutil.which("redis-server") is not None, "redis-server is not installed")
    require(shutil.which("bwrap") is not None, "bwrap is not installed (scripts/system-deps.sh)")
    require(Path(CHROMIUM).exists(), f"{CHROMIUM} is not installed (scripts/system-deps.sh)")
    tmp = Path(tempfile.mkdtemp(prefix="sw-ui-"))
    redis_port, port = free_port(), free_port()
    redis_proc = _redis_server(redis_port, tmp)
    redis_url = f"redis://127.0.0.1:{redis_port}/0"
    with openai_server.running() as llm:
        env = clean_env(APP_PORT=str(port), APP_DATA_DIR=str(tmp / "data"), REDIS_URL=redis_url,
                        AI_SERVICE_URL=llm.url, JOB_BACKOFF_MS="10", SANDBOX_TIMEOUT="10")
        proc = smartworker("up", env=env, cwd=tmp)
        base = f"http://127.0.0.1:{port}"
        try:
            wait_http(base + "/health", proc, timeout=90)
            poll(lambda: httpx.get(base + "/health").status_code == 200, timeout=90)
            found = System(base, redis_url, llm, asyncio.run(_create_keys(redis_url)), proc)
            yield found
        finally:
            proc.terminate()
            try:
                proc.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.communicate()
            redis_proc.terminate()
            redis_proc.wait(10)
            shutil.rmtree(tmp, ignore_errors=True)


@dataclass
class Browser:
    """One chromium for the module; pages in fresh contexts whose requests stay on this machine."""

    browser: Any
    outside: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  #: console errors (a CSP violation is one)

    def context(self, **kw: Any) -> Any:
        ctx = self.browser.new_context(**kw)

        def guard(route: Any) -> None:
            host = urlsplit(route.request.url).hostname or ""
            if route.request.url.startswith(("data:", "blob:", "about:")) or host in LOCAL_HOSTS:
                route.continue_()
            else:
                self.outside.append(route.request.url)
                route.abort()

        ctx.route("**/*", guard)
        ctx.on("console", lambda msg: msg.type == "error" and self.errors.append(msg.text))
        return ctx


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with playwright_api.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        found = Browser(launched)
        yield found
        launched.close()
    assert found.outside == [], f"the pages asked for addresses off this machine: {found.outside}"
    # Expected errors: the 401 of a wrong key and the 403s of refused actions.
    unexpected = [e for e in found.errors if "status of 40" not in e]
    assert unexpected == [], unexpected


def _shot(page: Any, name: str) -> None:
    folder = os.environ.get("UI_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def _log_in(browser: Browser, system: System, role: str, **kw: Any) -> Any:
    page = browser.context(**kw).new_page()
    page.goto(system.base + "/ui/")
    assert "/ui/login" in page.url  # keys exist: the dashboard asks for one
    page.fill("#key", "sw_not-a-real-key")
    page.click("button[type=submit]")
    assert "unknown or was revoked" in page.inner_text("main")
    page.fill("#key", system.keys[role])
    page.click("button[type=submit]")
    page.wait_for_url(system.base + "/ui/")
    assert page.get_attribute("[data-role]", "data-role") == role
    return page


def _dead_job(system: System, data: dict[str, Any]) -> str:
    made = system.api("POST", "/job", json={"name": "login", "data": data, "opts": {"attempts": 2}})
    assert made.status_code == 201, made.text
    job_id = made.json()["id"]
    return str(poll(lambda: next((j["id"] for j in system.api("GET", "/dlq").json()["jobs"]
                                  if j["jobId"] == job_id), None), timeout=30))


def test_counts_change_live_while_jobs_run(system: System, browser: Browser) -> None:
    page = _log_in(browser, system, "operator")
    main = page.locator("tr[data-queue='login']")
    for role in ("dead-letter", "reasoning", "sandbox"):
        assert page.locator(f"#queue-counts .tag:text-is('{role}')").count() == 1
    page.evaluate("window.stayed = true")
    for _ in range(15):
        made = system.api("POST", "/job", json={"name": "login", "data": {"email": "bob@example.com",
                                                                          "password": "x"}, "opts": {"delay": 4000}})
        assert made.status_code == 201, made.text
    # The live part refreshes on its own: the delayed jobs appear, then finish, without a reload.
    expect(main.locator("[data-state='delayed']")).to_have_text("15", timeout=15_000)
    poll(lambda: int(main.locator("[data-state='completed']").inner_text()) >= 15, timeout=30)
    assert main.locator("[data-state='delayed']").inner_text().strip() == "0"
    assert page.evaluate("window.stayed") is True
    assert int(page.inner_text("#workers-total")) >= 1
    assert page.locator("[data-part='Redis'] .state").inner_text() == "up"
    assert page.locator("[data-part='PostgreSQL'] .state").inner_text() == "up"
    assert page.locator("[data-part='LLM'] .state").inner_text() == "up"
    poll(lambda: int(page.inner_text("#completed-hour")) >= 15, timeout=10)
    assert page.locator("svg.chart rect.done").count() >= 1
    _shot(page, "overview")

    # The job list: newest first, a search by text in the data, a job page.
    page.click("tr[data-queue='login'] [data-state='completed'] a")
    # A click returns once the navigation starts; count() does not wait for the new page, expect does.
    expect(page.locator("#job-list tbody tr")).to_have_count(15, timeout=15_000)
    page.fill("input[name=q]", "bob@example")
    page.click("form.search button")
    assert "15 matches" in page.inner_text("main")
    page.click("#job-list tbody tr:first-child a")
    assert page.inner_text("#job-state") == "completed"
    assert '"authenticated": false' in page.inner_text("#job-result")
    assert '"password": "[REDACTED]"' in page.inner_text("#job-data")

    # A narrow window: nothing is wider than the screen.
    narrow = browser.context(viewport={"width": 380, "height": 800}, storage_state=page.context.storage_state())
    small = narrow.new_page()
    small.goto(system.base + "/ui/")
    assert small.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    narrow.close()
    page.context.close()


def test_dead_job_stack_trace_and_retry_through_confirmation(system: System, browser: Browser) -> None:
    dlq_id = _dead_job(system, {"username": "carol@example.com", "password": SECRET})
    page = _log_in(browser, system, "operator")
    page.click("nav a[href='/ui/dlq']")
    row = page.locator(f"tr[data-dlq-id='{dlq_id}']")
    assert "AttributeError" in row.inner_text()
    row.locator("td:first-child a").click()
    traces = page.locator("pre.stacktrace")
    expect(traces).to_have_count(2, timeout=15_000)  # one per attempt, once the job's page has loaded
    trace = traces.first.inner_text()
    assert "Traceback (most recent call last)" in trace and "normalise_email" in trace
    assert "AttributeError: 'NoneType' object has no attribute 'strip'" in trace
    assert SECRET not in page.content()
    _shot(page, "dead-job")

    page.click("#retry")
    assert "Retry dead job" in page.inner_text("#confirm-question")
    page.click("#confirm")
    assert "put back on its queue" in page.inner_text(".notice")
    assert all(j["id"] != dlq_id for j in system.api("GET", "/dlq").json()["jobs"])
    page.context.close()


def test_fix_page_shows_diff_gates_and_live_phase(system: System, browser: Browser) -> None:
    summary = "Account ids are integers; the device key now formats them."
    # The first reply waits, so the page is open while the fix runs.
    system.llm.script(Step(text=reply_files(("swdemo/remember.py", GOOD_REMEMBER)), delay_s=6), "YES", summary)
    page = _log_in(browser, system, "operator")
    before = system.api("GET", "/fixes").json()["total"]
    system.api("GET", "/")  # the demo job: it asks for a fix
    fix = poll(lambda: (p := system.api("GET", "/fixes").json())["total"] > before and p["fixes"][0], timeout=60)
    page.goto(f"{system.base}/ui/fixes/{fix['id']}")
    # Opened while it runs: the page follows it on its own (server-sent events), no reload by us.
    assert page.inner_text("#fix-status") == "running", "the fix ended before its page opened"
    assert page.inner_text("#fix-phase")
    expect(page.locator("#fix-status")).to_have_text("fixed", timeout=90_000)
    page.wait_for_selector("#fix-diff")
    diff = page.inner_text("#fix-diff")
    assert "device:{account" in diff
    assert page.locator("#fix-diff .hl .gi").count() >= 1  # Pygments marked the added line
    assert page.inner_text("#fix-summary") == summary
    gates = page.locator("#candidate-1 tr.gate")
    names = [gates.nth(i).locator("td").first.inner_text() for i in range(gates.count())]
    assert "failing data veto" in names and "contract review inform" in names  # reasoning/gates.py: name, policy
    assert page.locator("#candidate-1 tr.gate-failed").count() == 0
    assert page.locator("#fix-concerns").count() == 0  # the review said YES: nothing to read first
    assert "wonderland" not in page.content()  # the demo job's password
    _shot(page, "fix")

    page.click("nav a[href='/ui/fixes']")
    listed = page.locator(f"tr[data-fix-id='{fix['id']}']").inner_text()
    assert "fixed" in listed and "qwen2.5-coder-1.5b-instruct" in listed  # the configured model

    # Memory: the failure is remembered with its resolution, and a pasted error finds it.
    page.click("nav a[href='/ui/memory']")
    page.fill("#error", 'TypeError: can only concatenate str (not "int") to str')
    page.fill("#job_name", "login")
    page.click("form.stack button")
    results = page.inner_text("table.similar")
    assert "now formats them" in results and "0." in results  # the resolution, with its score
    assert "now formats them" in page.inner_text("#memory-groups")
    page.context.close()


def test_viewer_sees_no_destructive_button_and_is_refused_anyway(system: System, browser: Browser) -> None:
    dlq_id = _dead_job(system, {"username": "dave@example.com", "password": SECRET})
    page = _log_in(browser, system, "viewer")
    page.goto(system.base + "/ui/dlq")
    assert page.locator(f"tr[data-dlq-id='{dlq_id}']").count() == 1
    for selector in ("a.retry", "a.delete", "a.fix", "#retry-all", "#delete-all"):
        assert page.locator(selector).count() == 0, selector
    page.goto(f"{system.base}/ui/dlq/{dlq_id}")
    assert page.locator("#dead-actions").count() == 0
    # The confirmation page itself is refused.
    answer = page.goto(f"{system.base}/ui/dlq/{dlq_id}/retry")
    assert answer is not None and answer.status == 403
    # A forged form post with the viewer's own valid session and CSRF token is refused by the server.
    page.goto(system.base + "/ui/")
    token = page.get_attribute("form[action='/ui/logout'] input[name=csrf]", "value")
    for action in ("retry", "delete", "fix"):
        status = page.evaluate(
            """async ([url, token]) => (await fetch(url, {method: 'POST', body: new URLSearchParams({csrf: token}),
                                                     redirect: 'manual'})).status""",
            [f"/ui/dlq/{dlq_id}/{action}", token])
        assert status == 403, action
    status = page.evaluate("""async (token) => (await fetch('/ui/dlq-all/delete', {method: 'POST',
                                 body: new URLSearchParams({csrf: token}), redirect: 'manual'})).status""", token)
    assert status == 403
    # The API takes the dashboard's session too, with the same role.
    api = page.evaluate("""async (url) => [(await fetch('/dlq')).status,
        (await fetch(url, {method: 'POST', headers: {'Content-Type': 'application/json'}, body: '{}'})).status]""",
                        f"/dlq/{dlq_id}/retry")
    assert api == [200, 403]
    assert any(j["id"] == dlq_id for j in system.api("GET", "/dlq").json()["jobs"])
    page.context.close()


def test_an_operator_form_needs_its_csrf_token(system: System, browser: Browser) -> None:
    dlq_id = _dead_job(system, {"username": "erin@example.com", "password": SECRET})
    page = _log_in(browser, system, "operator")
    status = page.evaluate("""async (url) => (await fetch(url, {method: 'POST',
                                 body: new URLSearchParams({csrf: 'forged'}), redirect: 'manual'})).status""",
                           f"/ui/dlq/{dlq_id}/retry")
    assert status == 403
    assert any(j["id"] == dlq_id for j in system.api("GET", "/dlq").json()["jobs"])
    page.context.close()
