"""The dashboard's pages and form actions (server-rendered; every value shown is redacted)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response, StreamingResponse

from smartworker.auth import Role
from smartworker.errors import JobNotFoundError, PermissionDeniedError, SmartWorkerError
from smartworker.queues import now_ms
from smartworker.redaction import redact, redact_text
from smartworker.service import Service
from smartworker.ui import dead, fixes, jobs, memory, metrics
from smartworker.ui.access import Visitor, allowed, safe_next, visitor
from smartworker.ui.health import Health, workers
from smartworker.ui.render import templates
from smartworker.ui.session import COOKIE, SESSION_S

router = APIRouter()

Seen = Annotated[Visitor, Depends(visitor)]
PageNo = Annotated[int, Query(ge=1, le=1_000_000)]
Size = Annotated[int, Query(ge=5, le=200)]
Text = Annotated[str, Query(max_length=500)]
QueueName = Annotated[str, Path(min_length=1, max_length=200, pattern=jobs.QUEUE_NAME.pattern)]
AnyId = Annotated[str, Path(min_length=1, max_length=400)]

#: Notices an action sends the next page, by code (never free text from a URL).
NOTICES = {
    "retried": "The dead job was put back on its queue with fresh attempts.",
    "retried-all": "The dead jobs were put back on their queue.",
    "deleted": "The dead job was deleted.",
    "deleted-all": "The dead jobs were deleted.",
    "fix-requested": "A fix was requested; it appears under Fixes as soon as the resolver picks it up.",
    "logged-out": "You are logged out.",
}
#: Actions on one dead job: the role each needs, and the page's wording.
DEAD_ACTIONS: dict[str, tuple[Role, str]] = {
    "retry": (Role.OPERATOR, "Retry"),
    "fix": (Role.OPERATOR, "Fix now"),
    "delete": (Role.ADMIN, "Delete"),
}
#: Actions on every dead job a filter selects.
BULK_ACTIONS: dict[str, tuple[Role, str]] = {
    "retry": (Role.OPERATOR, "Retry all"),
    "delete": (Role.ADMIN, "Delete all"),
}
#: How often a running fix's page is told its phase.
EVENT_EVERY_S = 1.0
#: Longest a fix's event stream stays open.
EVENT_MAX_S = 1800.0


def _service(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


def _health(request: Request) -> Health:
    health: Health = request.app.state.ui_health
    return health


def _page(request: Request, name: str, seen: Visitor | None, status: int = 200, **context: Any) -> HTMLResponse:
    notice = NOTICES.get(request.query_params.get("notice", ""))
    response: HTMLResponse = templates.TemplateResponse(
        request, name, {"visitor": seen, "notice": notice, "settings": _service(request).settings, **context},
        status_code=status)
    return response


async def _directory(request: Request) -> jobs.QueueDirectory:
    directory: jobs.QueueDirectory = request.app.state.ui_queues
    return directory


# -- overview ---------------------------------------------------------------------------------------
async def _live(request: Request) -> dict[str, Any]:
    service = _service(request)
    names = await (await _directory(request)).names()
    prefix = service.settings.queue_prefix
    counted, online, series, parts = await asyncio.gather(
        jobs.counts(service.queues.redis, prefix, names),
        workers(service, names),
        metrics.last_hour(service.queues.redis, prefix, service.queues.names.main, now_ms()),
        _health(request).parts(),
    )
    roles = {service.queues.names.main: "main", service.queues.names.dlq: "dead-letter",
             service.queues.names.reasoning: "reasoning", service.queues.names.sandbox: "sandbox",
             service.queues.names.memory: "memory"}
    return {"queues": [(n, roles.get(n, "user"), counted[n], online.get(n, 0)) for n in names],
            "states": jobs.STATES, "series": series, "parts": parts, "dlq": service.queues.names.dlq,
            "workers_total": sum(online.values())}


@router.get("/", response_class=HTMLResponse)
async def overview(request: Request, seen: Seen) -> HTMLResponse:
    """Every queue with counts per state, the last hour, workers and the health of each part."""
    return _page(request, "overview.html", seen, **await _live(request))


@router.get("/live", response_class=HTMLResponse)
async def overview_live(request: Request, seen: Seen) -> HTMLResponse:
    """The overview's changing part, fetched by the page every few seconds."""
    return _page(request, "_live.html", seen, **await _live(request))


# -- jobs -------------------------------------------------------------------------------------------
@router.get("/queues/{queue}", response_class=HTMLResponse)
async def job_list(request: Request, seen: Seen, queue: QueueName, state: Text = "waiting", q: Text = "",
                   page: PageNo = 1, size: Size = 20) -> HTMLResponse:
    """A queue's jobs in one state, newest first, paginated; searchable by id, name and data."""
    service = _service(request)
    if not await (await _directory(request)).exists(queue):
        raise JobNotFoundError(f"no queue {queue!r} under prefix {service.settings.queue_prefix!r}")
    if state not in jobs.STATES:
        raise SmartWorkerError(f"state: expected one of {', '.join(jobs.STATES)}")
    redis, prefix = service.queues.redis, service.settings.queue_prefix
    q = q.strip()
    found = await (jobs.search(redis, prefix, queue, state, q, page, size) if q
                   else jobs.page(redis, prefix, queue, state, page, size))
    counted = (await jobs.counts(redis, prefix, [queue]))[queue]
    return _page(request, "jobs.html", seen, listing=found, counts=counted, states=jobs.STATES,
                 dlq=service.queues.names.dlq)


@router.get("/queues/{queue}/jobs/{job_id}", response_class=HTMLResponse)
async def job_page(request: Request, seen: Seen, queue: QueueName, job_id: AnyId) -> HTMLResponse:
    """One job: data, options, attempts, every stack trace, return value, timestamps, progress."""
    service = _service(request)
    job = await jobs.detail(service.queues.redis, service.settings.queue_prefix, queue, job_id)
    if job is None:
        if queue == service.queues.names.main:
            dead_job = await service.queues.dead_job(f"{queue}__{job_id}")
            if dead_job is not None:
                return RedirectResponse(f"/ui/dlq/{dead_job.id}", status_code=303)  # type: ignore[return-value]
        raise JobNotFoundError(f"no job {job_id!r} in queue {queue!r}")
    return _page(request, "job.html", seen, job=job)


# -- dead-letter queue ------------------------------------------------------------------------------
@router.get("/dlq", response_class=HTMLResponse)
async def dlq_list(request: Request, seen: Seen, q: Text = "", signature: Text = "", page: PageNo = 1,
                   size: Size = 20) -> HTMLResponse:
    """Dead jobs with their failure signature and how often it happened; filters; bulk actions."""
    service = _service(request)
    flt = dead.DeadFilter(q.strip(), signature.strip())
    (total, rows, read), (grouped, grouped_read) = await asyncio.gather(
        dead.page(service.queues, flt, page, size), dead.groups(service.queues))
    in_dlq = {g.signature_hash: g.count for g in grouped}
    remembered = await _remembered(service, sorted({r.signature_hash for r in rows}))
    return _page(request, "dlq.html", seen, rows=rows, total=total, read=read, flt=flt, page_no=page, size=size,
                 pages=max(1, -(-total // size)), groups=grouped, grouped_read=grouped_read, in_dlq=in_dlq,
                 remembered=remembered)


async def _remembered(service: Service, hashes: list[str]) -> dict[str, int] | None:
    """All-time failure counts per signature from memory; None when memory is off or down."""
    if service.memory is None:
        return None
    try:
        return await asyncio.wait_for(memory.counts(service.memory, hashes), 2.0)
    except Exception:
        return None


@router.get("/dlq/{dlq_id}", response_class=HTMLResponse)
async def dead_page(request: Request, seen: Seen, dlq_id: AnyId) -> HTMLResponse:
    """One dead job with everything its failure left, and what can be done with it."""
    service = _service(request)
    found = await service.queues.dead_job(dlq_id)
    if found is None:
        raise JobNotFoundError(f"no dead job {dlq_id!r}")
    row = dead.row_of(found)
    traces = [(i + 1, redact_text(t)) for i, t in enumerate(found.stacktrace)]
    _, records = await fixes.page(service.queues.redis, 1, 200)
    related = [r for r in records if r.get("dlq_id") == dlq_id or dlq_id in (r.get("attached") or [])]
    remembered = await _remembered(service, [row.signature_hash])
    return _page(request, "dead.html", seen, dead=found, row=row, data=redact(found.data), opts=redact(found.opts),
                 reason=redact_text(found.failed_reason), traces=list(reversed(traces)), related=related,
                 remembered=(remembered or {}).get(row.signature_hash), actions=DEAD_ACTIONS)


@router.get("/dlq/{dlq_id}/{action}", response_class=HTMLResponse)
async def dead_confirm(request: Request, seen: Seen, dlq_id: AnyId, action: str) -> HTMLResponse:
    """The confirmation step of an action on one dead job."""
    _, label = _action(DEAD_ACTIONS, action, seen)
    found = await _service(request).queues.dead_job(dlq_id)
    if found is None:
        raise JobNotFoundError(f"no dead job {dlq_id!r}")
    options = {"again": "Run a new resolution even if this dead job was resolved before"} if action == "fix" else {}
    return _page(request, "confirm.html", seen, label=label, target=f"/ui/dlq/{dlq_id}/{action}",
                 back=f"/ui/dlq/{dlq_id}", what=f"{label} dead job {dlq_id} ({redact_text(found.name)})?",
                 count=1, fields={}, options=options)


@router.post("/dlq/{dlq_id}/{action}")
async def dead_act(request: Request, dlq_id: AnyId, action: str) -> Response:
    """Retry, fix or delete one dead job (after its confirmation)."""
    role, _ = DEAD_ACTIONS.get(action, (None, ""))
    if role is None:
        raise JobNotFoundError(f"no action {action!r}")
    await allowed(request, role)
    queues = _service(request).queues
    if action == "retry":
        new_id = await queues.retry_dead(dlq_id)
        return RedirectResponse(f"/ui/queues/{queues.names.main}/jobs/{new_id}?notice=retried", status_code=303)
    if action == "fix":
        again = (await request.form()).get("again") == "1"
        await queues.request_fix(dlq_id, again=again)  # resolved before and not again: 409 naming that fix
        return RedirectResponse(f"/ui/dlq/{dlq_id}?notice=fix-requested", status_code=303)
    await queues.remove_dead(dlq_id)
    return RedirectResponse("/ui/dlq?notice=deleted", status_code=303)


@router.get("/dlq-all/{action}", response_class=HTMLResponse)
async def bulk_confirm(request: Request, seen: Seen, action: str, q: Text = "", signature: Text = "") -> HTMLResponse:
    """The confirmation step of retrying or deleting every dead job a filter selects."""
    _, label = _action(BULK_ACTIONS, action, seen)
    flt = dead.DeadFilter(q.strip(), signature.strip())
    rows, _ = await dead.scan(_service(request).queues, flt)
    scope = "matching the filter" if flt.active else "in the dead-letter queue"
    return _page(request, "confirm.html", seen, label=label, target=f"/ui/dlq-all/{action}",
                 back="/ui/dlq", what=f"{label}: {len(rows)} dead jobs {scope}?", count=len(rows),
                 fields={"q": flt.text, "signature": flt.signature}, options={})


@router.post("/dlq-all/{action}")
async def bulk_act(request: Request, action: str, q: Annotated[str, Form(max_length=500)] = "",
                   signature: Annotated[str, Form(max_length=500)] = "") -> Response:
    """Retry or delete every dead job a filter selects (after the confirmation)."""
    role, _ = BULK_ACTIONS.get(action, (None, ""))
    if role is None:
        raise JobNotFoundError(f"no action {action!r}")
    await allowed(request, role)
    queues = _service(request).queues
    flt = dead.DeadFilter(q.strip(), signature.strip())
    if action == "delete" and not flt.active:
        await queues.clear_dead()
        return RedirectResponse("/ui/dlq?notice=deleted-all", status_code=303)
    rows, _ = await dead.scan(queues, flt)
    for row in rows:
        try:
            if action == "retry":
                await queues.retry_dead(row.id)
            else:
                await queues.remove_dead(row.id)
        except JobNotFoundError:
            continue  # someone else retried or deleted it meanwhile
    notice = "retried-all" if action == "retry" else "deleted-all"
    return RedirectResponse(f"/ui/dlq?notice={notice}", status_code=303)


def _action(actions: dict[str, tuple[Role, str]], action: str, seen: Visitor) -> tuple[Role, str]:
    if action not in actions:
        raise JobNotFoundError(f"no action {action!r}")
    role, label = actions[action]
    if not seen.principal.can(role):
        raise PermissionDeniedError(f"{seen.principal.name} has the {seen.principal.role} role; "
                                    f"{label.lower()} needs {role}")
    return role, label


# -- fixes ------------------------------------------------------------------------------------------
@router.get("/fixes", response_class=HTMLResponse)
async def fix_list(request: Request, seen: Seen, page: PageNo = 1, size: Size = 20) -> HTMLResponse:
    """Fix records, newest first, with verdict, model, candidates and time to verdict."""
    service = _service(request)
    total, records = await fixes.page(service.queues.redis, page, size)
    model = service.settings.ai_model_name
    rows = [{"id": r.get("id"), "status": r.get("status"), "job_name": redact_text(str(r.get("job_name", ""))),
             "dlq_id": r.get("dlq_id"), "signature": redact_text(str(r.get("signature", ""))),
             "models": fixes.models_of(r, model), "candidates": len(fixes.candidates_of(r)),
             "seconds": fixes.seconds_to_verdict(r), "created_on": r.get("created_on"),
             "phase": fixes.phase(r), "review": fixes.review_state(r), "concerns": len(fixes.concerns(r))}
            for r in records]
    return _page(request, "fixes.html", seen, rows=rows, total=total, page_no=page, size=size,
                 pages=max(1, -(-total // size)))


@router.get("/fixes/{fix_id}", response_class=HTMLResponse)
async def fix_page(request: Request, seen: Seen, fix_id: AnyId) -> HTMLResponse:
    """One fix: the diff, every candidate with every gate, sandbox evidence, summary, similar failures."""
    service = _service(request)
    record = await fixes.get(service.queues.redis, fix_id)
    if record is None:
        raise JobNotFoundError(f"no fix {fix_id!r}")
    model = service.settings.ai_model_name
    candidates = [fixes.candidate_view(c, model) for c in fixes.candidates_of(record)]
    similar: list[memory.Similar] = []
    if service.memory is not None and record.get("signature"):
        try:
            similar = await asyncio.wait_for(memory.similar(service.memory, str(record["signature"]), None,
                                                            str(record.get("job_name") or "") or None), 5.0)
        except Exception:
            similar = []
        # The fix's own failure is remembered too; it is not a past failure of itself.
        similar = [s for s in similar if (s.queue, s.job_id) != (record.get("queue"), record.get("job_id"))]
    extra = {k: redact(v) for k, v in record.items() if k not in _SHOWN_FIELDS}
    return _page(request, "fix.html", seen, record=redact(record), fix_id=fix_id, candidates=candidates,
                 diff_html=fixes.highlight_diff(redact_text(str(record.get("diff") or ""))),
                 phase=fixes.phase(record), running=str(record.get("status")) not in fixes.FINAL,
                 seconds=fixes.seconds_to_verdict(record), models=fixes.models_of(record, model),
                 similar=similar, extra=extra, concerns=fixes.concerns(record), review=redact(record.get("review"))
                 if isinstance(record.get("review"), dict) else None)


_SHOWN_FIELDS = frozenset({"id", "dlq_id", "queue", "job_id", "job_name", "signature", "status", "reason", "diff",
                           "summary", "candidates", "attached", "attached_to", "memory", "prompt_tokens",
                           "completion_tokens", "llm_calls", "created_on", "finished_on", "emailed", "phase",
                           "review"})


@router.get("/fixes/{fix_id}/events")
async def fix_events(request: Request, seen: Seen, fix_id: AnyId) -> StreamingResponse:
    """Server-sent events with a running fix's phase, until it ends (then one ``done`` event)."""
    redis = _service(request).queues.redis
    if await fixes.get(redis, fix_id) is None:
        raise JobNotFoundError(f"no fix {fix_id!r}")

    async def stream() -> AsyncIterator[str]:
        last = ""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + EVENT_MAX_S
        while loop.time() < deadline and not await request.is_disconnected():
            record = await fixes.get(redis, fix_id) or {}
            status = str(record.get("status", "unknown"))
            state = json.dumps({"status": status, "phase": fixes.phase(record),
                                "candidates": len(fixes.candidates_of(record))})
            if state != last:
                yield f"data: {state}\n\n"
                last = state
            if status in fixes.FINAL or not record:
                yield "event: done\ndata: {}\n\n"
                return
            await asyncio.sleep(EVENT_EVERY_S)

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


# -- memory -----------------------------------------------------------------------------------------
async def _memory_page(request: Request, seen: Visitor, **context: Any) -> HTMLResponse:
    service = _service(request)
    grouped: list[memory.Group] = []
    problem = ""
    if service.memory is None:
        problem = "The failure memory is not running (configure DATABASE_URL or APP_DB_HOST)."
    else:
        try:
            grouped = await asyncio.wait_for(memory.groups(service.memory), 5.0)
        except Exception as exc:
            problem = f"The failure memory did not answer: {type(exc).__name__}"
    return _page(request, "memory.html", seen, groups=grouped, problem=problem, **context)


@router.get("/memory", response_class=HTMLResponse)
async def memory_page(request: Request, seen: Seen) -> HTMLResponse:
    """Paste an error to find similar past failures; failures grouped by signature."""
    return await _memory_page(request, seen, results=None, error="", traceback="", job_name="")


@router.post("/memory", response_class=HTMLResponse)
async def memory_search(request: Request, error: Annotated[str, Form(min_length=1, max_length=20_000)],
                        traceback: Annotated[str, Form(max_length=200_000)] = "",
                        job_name: Annotated[str, Form(max_length=200)] = "") -> HTMLResponse:
    """Similar past failures to the pasted error, with scores and their resolutions."""
    seen = await allowed(request, Role.VIEWER)
    service = _service(request)
    if service.memory is None:
        return await _memory_page(request, seen, results=None, error=error, traceback=traceback, job_name=job_name)
    try:
        results = await asyncio.wait_for(memory.similar(service.memory, error, traceback, job_name), 10.0)
    except Exception as exc:
        raise SmartWorkerError(f"the failure memory did not answer: {type(exc).__name__}") from exc
    return await _memory_page(request, seen, results=results, error=redact_text(error),
                              traceback=redact_text(traceback), job_name=job_name)


# -- login ------------------------------------------------------------------------------------------
@router.get("/login", response_class=HTMLResponse)
async def login_page(request: Request, next: Text = "/ui/") -> HTMLResponse:
    """The login form: an API key."""
    gate = request.app.state.ui_gate
    csrf = await gate.signer.csrf(request.state.session)
    return _page(request, "login.html", None, next=safe_next(next), csrf=csrf, failed=False)


@router.post("/login", response_class=HTMLResponse)
async def log_in(request: Request, key: Annotated[str, Form(min_length=1, max_length=500)],
                 csrf: Annotated[str, Form(max_length=200)] = "",
                 next: Annotated[str, Form(max_length=2000)] = "/ui/") -> Response:
    """Check the key; on success set the session cookie and go on."""
    gate = request.app.state.ui_gate
    if not await gate.signer.check_csrf(request.state.session, csrf):
        raise PermissionDeniedError("the login form is stale: reload the page and try again")
    found = await gate.log_in(key)
    if found is None:
        token = await gate.signer.csrf(request.state.session)
        return _page(request, "login.html", None, status=401, next=safe_next(next), csrf=token, failed=True)
    _, cookie = found
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(COOKIE, cookie, max_age=SESSION_S, httponly=True, samesite="strict", path="/",
                        secure=request.url.scheme == "https")
    request.state.session_replaced = True
    return response


@router.post("/logout")
async def log_out(request: Request) -> Response:
    """End the session."""
    await allowed(request, Role.VIEWER)
    response = RedirectResponse("/ui/login?notice=logged-out", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    request.state.session_replaced = True
    return response


@router.get("/static/highlight.css")
async def highlight_css() -> PlainTextResponse:
    """The style sheet of highlighted diffs (made by Pygments)."""
    return PlainTextResponse(fixes.highlight_css(), media_type="text/css",
                             headers={"Cache-Control": "max-age=3600"})
