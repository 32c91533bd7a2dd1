"""HTTP routes: jobs, the dead-letter queue, health."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.responses import JSONResponse

from smartworker.api.schemas import DeadJobPage, DeadJobView, Health, JobCreated, JobIn, JobView, Message
from smartworker.api.security import View, json_only, require, viewer
from smartworker.auth import Role
from smartworker.errors import JobNotFoundError
from smartworker.reasoning.llm import llm_state
from smartworker.service import Service
from smartworker.worker import live_workers

router = APIRouter()

#: The demo job: a "remember me" login, which the bundled login handler fails on (a code bug in
#: swdemo/remember.py), asking for a fix.
DEMO_JOB: dict[str, Any] = {"email": "alice@example.com", "password": "wonderland", "remember_me": True,
                            "reasoning_fix": True}
#: Pages past this are refused (422) rather than handed to Redis as offsets it cannot represent.
MAX_PAGE = 1_000_000

Page = Annotated[int, Query(ge=1, le=MAX_PAGE)]
Operator = Depends(require(Role.OPERATOR))
Admin = Depends(require(Role.ADMIN))


def _service(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


@router.get("/", response_model=JobCreated, status_code=201, tags=["jobs"], dependencies=[Operator],
            responses={404: {"model": Message, "description": "not in development mode"}})
async def demo(request: Request) -> JobCreated:
    """Create the demo job (development mode only): a login that fails and asks for an AI fix."""
    service = _service(request)
    if service.settings.node_env != "development":
        # A GET that starts work could be triggered by any web page the user opens (an <img> tag).
        raise JobNotFoundError("the demo job is created only in development mode (NODE_ENV=development)")
    job_id = await service.queues.enqueue("login", dict(DEMO_JOB))
    return JobCreated(id=job_id, queue=service.queues.names.main)


@router.post("/job", response_model=JobCreated, status_code=201, tags=["jobs"], dependencies=[Operator],
             responses={400: {"model": Message}})
async def create_job(body: JobIn, request: Request) -> JobCreated:
    """Enqueue a job for a registered handler (set ``opts.jobId`` to make a retried request idempotent)."""
    service = _service(request)
    service.registry.get(body.name, hazard_testing=service.settings.hazard_testing)  # 400 when unknown
    opts = body.opts.to_bullmq() if body.opts else None
    job_id = await service.queues.enqueue(body.name, body.data, opts)
    return JobCreated(id=job_id, queue=service.queues.names.main)


@router.get("/jobs/{job_id}", response_model=JobView, tags=["jobs"], responses={404: {"model": Message}})
async def get_job(job_id: str, request: Request, view: Annotated[View, Depends(viewer())]) -> JobView:
    """State, attempts, result or failure of a job (also once it is in the DLQ)."""
    found = await _service(request).queues.describe(job_id)
    for key in ("data", "result", "failedReason", "stacktrace"):
        found[key] = view.show(found.get(key))
    return JobView(**found)


@router.get("/health", response_model=Health, tags=["operations"], responses={503: {"model": Health}})
async def health(request: Request) -> JSONResponse:
    """Redis, the database when configured, live workers and the LLM: 200 ``ok`` or ``degraded``, 503 ``down``."""
    service = _service(request)
    down: list[str] = []
    llm = "not configured"
    try:
        await service.queues.redis.ping()
        redis_state = "up"
        workers = await live_workers(service.queues)
        llm = await llm_state(service.settings, service.queues.redis)
        if llm != "up" and service.llm is not None and service.llm.ready is not None and not service.llm.ready.done():
            llm = "loading"  # this process is still assembling or starting its model: nothing listens yet
    except Exception:
        redis_state, workers = "down", 0
        down.append("redis")
    db_state = await service.database_state()
    if db_state == "down":
        down.append("database")
    if redis_state == "up" and workers == 0:
        down.append("workers")
    status: Literal["ok", "degraded", "down"] = "down" if down else "degraded" if llm == "down" else "ok"
    # An unavailable sandbox does not stop the queue (fixes end as errors); it is named, with the install command.
    sandbox = f"unavailable: {service.sandbox_unavailable}" if service.sandbox_unavailable else "up"
    body = Health(status=status, redis=redis_state, database=db_state, workers=workers, llm=llm, down=down,
                  sandbox=sandbox)
    return JSONResponse(body.model_dump(), status_code=503 if down else 200)


@router.get("/dlq", response_model=DeadJobPage, tags=["dead-letter queue"])
async def list_dlq(request: Request, view: Annotated[View, Depends(viewer())], page: Page = 1,
                   size: Annotated[int, Query(ge=1, le=500)] = 20) -> DeadJobPage:
    """A page of dead jobs, newest first."""
    total, jobs = await _service(request).queues.list_dead(page, size)
    shown = []
    for job in jobs:
        entry = job.to_dict()
        for key in ("data", "opts", "failedReason", "stacktrace"):
            entry[key] = view.show(entry[key])
        shown.append(DeadJobView(**entry))
    return DeadJobPage(total=total, page=page, size=size, jobs=shown)


@router.post("/dlq/{dlq_id}/retry", response_model=JobCreated, status_code=201, tags=["dead-letter queue"],
             dependencies=[Operator], responses={404: {"model": Message}})
async def retry_dlq(dlq_id: str, request: Request) -> JobCreated:
    """Re-enqueue a dead job into its original queue with fresh attempts."""
    service = _service(request)
    new_id = await service.queues.retry_dead(dlq_id)
    return JobCreated(id=new_id, queue=service.queues.names.main)


@router.delete("/dlq", response_model=Message, tags=["dead-letter queue"], dependencies=[Admin])
async def clear_dlq(request: Request) -> Message:
    """Remove every dead job."""
    count = await _service(request).queues.clear_dead()
    return Message(detail=f"removed {count} jobs")


@router.delete("/dlq/{dlq_id}", response_model=Message, tags=["dead-letter queue"], dependencies=[Admin],
               responses={404: {"model": Message}})
async def delete_dlq(dlq_id: str, request: Request) -> Message:
    """Remove one dead job."""
    await _service(request).queues.remove_dead(dlq_id)
    return Message(detail=f"removed {dlq_id}")


def install(app: FastAPI) -> None:
    """Mount the routes; every state-changing one takes JSON from its own origin only."""
    from smartworker.api import access, fixes, memory, metrics

    guarded = [Depends(json_only)]
    app.include_router(router, dependencies=guarded)
    app.include_router(fixes.router, dependencies=[*guarded, Depends(require(Role.VIEWER))])
    app.include_router(memory.router, dependencies=guarded)
    app.include_router(access.router, dependencies=guarded)
    app.include_router(metrics.router)  # GET /metrics (Prometheus)

